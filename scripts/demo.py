"""`make demo`: sessman's main job, end to end, on this machine alone.

Starts a local AWS endpoint (moto_server) on a free loopback port, creates an
IAM user with an access key and a role there, writes a profiles file that
pins sessman's encrypted file keyring (in a temporary directory, with a demo
passphrase: never the user's own keyring), then drives the `sessman` command
line as a person would: list, secret set, whoami, open, check, env, exec
(the AWS CLI, as the role), close. Everything is removed at the end.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("demo: moto_server exited early")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("demo: moto_server did not start")


def aws_setup(url: str) -> tuple[str, str]:
    """As the account's administrator: a user with a key, and a role to assume."""
    import boto3

    admin = boto3.Session(
        aws_access_key_id="AKIAADMINEXAMPLE0000",
        aws_secret_access_key="admin-secret-not-used-by-sessman",
        region_name="us-east-1",
    )
    iam = admin.client("iam", endpoint_url=url)
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.create_role(RoleName="ReadOnly", AssumeRolePolicyDocument="{}")
    iam.close()
    return key["AccessKeyId"], key["SecretAccessKey"]


PROFILES = """\
version: 1
keyring_service: sessman-demo
keyring_backend: sessman.filekeyring.EncryptedFileKeyring   # the embedded default
defaults:
  region: eu-central-1
  endpoint_url: {url}         # the local AWS endpoint this demo started
  connect_timeout: 2
  read_timeout: 5
  retries: {{mode: standard, max_attempts: 2}}
profiles:
  dev:
    description: Alice's keys (secret in the keyring)
    access_key_id: {key_id}
    tags: [demo]
  readonly:
    description: A role assumed with dev's credentials
    source_profile: dev
    role_arn: arn:aws:iam::123456789012:role/ReadOnly
    role_session_name: alice
    tags: [demo]
"""


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="sessman-demo-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SESSMAN_"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean,
    )
    try:
        wait_for(port, server)
        key_id, secret = aws_setup(url)
        config = work / "profiles.yaml"
        config.write_text(PROFILES.format(url=url, key_id=key_id))
        env = {
            **clean,
            "SESSMAN_CONFIG": str(config),
            "SESSMAN_STATE_DIR": str(work / "state"),
            "SESSMAN_KEYRING_FILE": str(work / "keyring.enc"),
            "SESSMAN_KEYRING_PASSPHRASE": "demo passphrase",
            "AWS_CONFIG_FILE": str(work / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(work / "aws-credentials"),
        }
        print(f"# local AWS endpoint {url}; profiles file {config}\n")

        def sessman(*args: str, stdin: str | None = None) -> None:
            print(f"$ sessman {shlex.join(args)}", flush=True)
            done = subprocess.run(
                [sys.executable, "-m", "sessman", *args],
                input=stdin.encode() if stdin is not None else None,
                env=env,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"demo: `sessman {shlex.join(args)}` exited {done.returncode}")
            print(flush=True)

        sessman("list")
        sessman("secret", "set", "dev", "--stdin", stdin=secret + "\n")
        sessman("list")
        sessman("whoami", "dev")
        sessman("open", "dev", "readonly", "--duration", "3600")
        sessman("list")
        sessman("check", "--tag", "demo")
        sessman("env", "readonly", "--format", "dotenv")
        aws = str(Path(sys.executable).with_name("aws"))  # the AWS CLI, running as the role
        sessman("exec", "readonly", "--", aws, "sts", "get-caller-identity", "--output", "json")
        sessman("close", "--all")
        sessman("list", "--json")
        print("demo: every step succeeded")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
