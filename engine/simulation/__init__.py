"""A city-year on the virtual clock: simulated people work the library through the real commands, scheduler and
workers, and a report says what the year came to (``huhua simulate``)."""
