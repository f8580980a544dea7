"""Background work: the timer runner now; the job workers and the scheduler build on it."""
