"""``huhua notify test PERSON --channel …`` against each provider's receiver on 127.0.0.1: it sends now, prints
what the provider answered, and exits non-zero when the message did not go."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from engine.cli import main as cli_main
from engine.config import Settings
from engine.store import tables
from tests.notification_receivers import certificate, dingtalk_robot, sms_gateway, smtp_server, wecom_robot
from tests.notification_setup import SCHOOL, configured, load_school, mobile


def _notify_test(settings: Settings, toml: Path, *args: str) -> Result:
    env = {"HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "HUHUA_OUTBOUND_ALLOW": "127.0.0.1", "HUHUA_NOTIFICATIONS": str(toml)}
    return CliRunner().invoke(cli_main, ["notify", "test", *args], env=env, catch_exceptions=False)


def test_notify_test_reaches_each_channel_and_prints_the_answer(settings: Settings, tmp_path: Path) -> None:
    cert, _key = certificate(tmp_path)
    with smtp_server(tmp_path, security="starttls", users={"u": "p"}) as box, wecom_robot("wk") as wecom, \
            dingtalk_robot("dt", "SEC") as dingtalk, sms_gateway("AK", "SK") as gateway:
        huhua = configured(settings, None, tmp_path, f"""
[email]
url = "smtp://u:p@{box.host}:{box.port}"
ca_file = "{cert}"
[wecom]
url = "{wecom.url}/send"
robots = {{ {SCHOOL} = "wk" }}
[dingtalk]
url = "{dingtalk.url}/robot/send"
robots = {{ {SCHOOL} = {{ token = "dt", secret = "SEC" }} }}
[sms]
url = "{gateway.url}/sms/send"
key = "AK"
secret = "SK"
templates = {{ default = "SMS_9" }}
""")
        load_school(huhua, 1)
        toml = tmp_path / "notifications.toml"
        results = {channel: _notify_test(settings, toml, "t001", "--channel", channel)
                   for channel in ("email", "wecom", "dingtalk", "sms", "inbox")}
    for channel, result in results.items():
        assert result.exit_code == 0, (channel, result.output)
    assert "sent to t001@school.example.cn: 250 accepted" in results["email"].output
    assert '"errcode": 0' in results["wecom"].output.replace('"errcode":0', '"errcode": 0')
    assert "errmsg" in results["dingtalk"].output and "sent to 139****0001" in results["sms"].output
    assert "in-app centre" in results["inbox"].output
    assert len(box.messages) == 1 and box.messages[0]["Subject"] == "【心育护花】测试消息"
    assert wecom.accepted[0].json()["text"]["mentioned_mobile_list"] == [mobile("t001")]
    assert len(dingtalk.accepted) == 1 and gateway.accepted[0].json()["template_id"] == "SMS_9"
    with huhua.services.database.engine.connect() as connection:  # each test is recorded like any notification
        assert len(connection.execute(tables.notification.select()).all()) == 5
    huhua.close()


def test_notify_test_exits_non_zero_with_the_providers_refusal(settings: Settings, tmp_path: Path) -> None:
    with dingtalk_robot("dt", "SEC") as dingtalk:
        huhua = configured(settings, None, tmp_path, f'[dingtalk]\nurl = "{dingtalk.url}/robot/send"\n'
                                                     f'[dingtalk.robots.{SCHOOL}]\ntoken = "dt"\nsecret = "WRONG"\n')
        load_school(huhua, 1)
        toml = tmp_path / "notifications.toml"
        refused = _notify_test(settings, toml, "t001", "--channel", "dingtalk")
        unset = _notify_test(settings, toml, "t001", "--channel", "email")
        nobody = _notify_test(settings, toml, "nobody", "--channel", "inbox")
        huhua.close()
    assert refused.exit_code == 1 and "errcode 310000" in refused.output and "sign not match" in refused.output
    assert unset.exit_code == 2 and "e-mail is not set up" in unset.output
    assert nobody.exit_code == 2 and "no active person 'nobody'" in nobody.output
