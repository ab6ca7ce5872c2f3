"""A moto server for plumb's tests, in-process so the tests can correct and back-date it.

Usage: python3 launcher.py
Prints "ready PORT" once listening on 127.0.0.1 (a free port). Then reads commands on stdin,
one per line, and answers "ok" (or "error MESSAGE"):

    seed NAME    run seeds.NAME(endpoint): create an account's resources
    fault NAME   answer from now on as AWS does in a rare case (see FAULTS)
    quit         stop

Corrections to moto 5.2.5, each because a real AWS answer differs:
- GetBucketVersioning: moto's XML has a root element the AWS SDK for Rust rejects and never
  reports MFA delete; answer as S3 does (VersioningConfiguration, Status, MfaDelete).
- CloudWatch: the AWS SDK for Rust speaks Smithy RPC v2 CBOR to CloudWatch, which moto does
  not (it answers 404). DescribeAlarms is answered in CBOR from moto's own alarms.
- IAM Access Analyzer: moto has no backend (it fails with a traceback). The test account's
  credentials are denied it, as a role without access-analyzer:ListAnalyzers would be, so a
  full sync has exactly these failed parts.
- Credentials: moto accepts any. Requests signed with the access key `plumb-revoked` are
  refused with InvalidClientTokenId, as AWS refuses a revoked or expired key.
- Accounts: requests signed with an access key of `ACCOUNT_KEYS` act in that account (moto's
  own `x-moto-account-id` header), as a role's credentials in another account would.
"""

import os
import sys
import traceback

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# AWS managed policies (AdministratorAccess, AWSSupportAccess) exist in every real account.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

import logging  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)

import io  # noqa: E402
import re  # noqa: E402
import urllib.parse  # noqa: E402

import cbor2  # noqa: E402
from moto.cloudwatch.models import cloudwatch_backends  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.s3.responses import S3Response  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

VERSIONING = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{status}{mfa}'
    "</VersioningConfiguration>"
)


def get_bucket_versioning(self):
    bucket = self.backend.get_bucket(self.bucket_name)
    status = bucket.versioning_status
    mfa = getattr(bucket, "plumb_mfa_delete", None)
    return (
        200,
        {},
        VERSIONING.format(
            status=f"<Status>{status}</Status>" if status else "",
            mfa=f"<MfaDelete>{mfa}</MfaDelete>" if mfa else "",
        ),
    )


S3Response.get_bucket_versioning = get_bucket_versioning


CBOR_OPERATION = re.compile(r"^/service/GraniteServiceVersion20100801/operation/(\w+)$")
SIGNED_REGION = re.compile(r"Credential=[^/]+/\d+/([^/]+)/")
ACCOUNT = "123456789012"
# Access keys that act in another account than the default one.
ACCOUNT_KEYS = {"plumb-second": "444455556666"}


def describe_alarms(account, region):
    alarms = cloudwatch_backends[account][region].alarms.values()
    return {
        "MetricAlarms": [
            {
                "AlarmName": a.name,
                "AlarmArn": a.alarm_arn,
                "MetricName": a.metric_name,
                "Namespace": a.namespace,
                "Statistic": a.statistic,
                "Threshold": float(a.threshold),
                "ComparisonOperator": a.comparison_operator,
                "EvaluationPeriods": int(a.evaluation_periods),
                "Period": int(a.period),
                "ActionsEnabled": bool(a.actions_enabled),
                "AlarmActions": list(a.alarm_actions or []),
                "StateValue": a.state_value,
            }
            for a in alarms
        ],
        "CompositeAlarms": [],
    }


CBOR_OPERATIONS = {"DescribeAlarms": describe_alarms}


SIGNED_SERVICE = re.compile(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/")
SIGNED_KEY = re.compile(r"Credential=([^/]+)/")
DENIED_SERVICES = {"access-analyzer"}
# Requests signed with this access key are refused as AWS refuses revoked or expired keys.
REVOKED_KEY = "plumb-revoked"
REVOKED = (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
    "</Message></Error><RequestId>plumb-test</RequestId></ErrorResponse>"
).encode()


def credentials_shim(app):
    """Answers requests to the services the test account may not use, and requests signed with
    revoked credentials, as AWS does."""

    def wrapped(environ, start_response):
        authorization = environ.get("HTTP_AUTHORIZATION", "")
        key = SIGNED_KEY.search(authorization)
        if key and key.group(1) in ACCOUNT_KEYS:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = ACCOUNT_KEYS[key.group(1)]
        if key and key.group(1) == REVOKED_KEY:
            start_response(
                "403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(REVOKED)))]
            )
            return [REVOKED]
        service = SIGNED_SERVICE.search(authorization)
        if not service or service.group(1) not in DENIED_SERVICES:
            return app(environ, start_response)
        body = b'{"message":"User is not authorized to perform this action (plumb test account)"}'
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/json"), ("x-amzn-ErrorType", "AccessDeniedException"),
             ("Content-Length", str(len(body)))],
        )
        return [body]

    return wrapped


# Rare answers AWS gives, switched on by the `fault` command:
# - ghost-user: the user `ghost` was deleted after ListUsers listed it (NoSuchEntity on the
#   calls that read it);
# - empty-summary: GetAccountSummary answers without its summary map.
FAULTS = set()
KNOWN_FAULTS = {"ghost-user", "empty-summary"}
IAM = "https://iam.amazonaws.com/doc/2010-05-08/"


def query_params(environ):
    """The form parameters of a query-protocol request, leaving the body readable for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return urllib.parse.parse_qs(body.decode())


def xml_answer(start_response, status, body):
    data = body.encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    return [data]


def fault_shim(app):
    """Answers as AWS does in the rare cases of FAULTS."""

    def wrapped(environ, start_response):
        service = SIGNED_SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not FAULTS or not service or service.group(1) != "iam":
            return app(environ, start_response)
        params = query_params(environ)
        action = params.get("Action", [""])[0]
        if "ghost-user" in FAULTS and params.get("UserName") == ["ghost"] and action != "GetLoginProfile":
            return xml_answer(
                start_response,
                "404 Not Found",
                f'<ErrorResponse xmlns="{IAM}"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>'
                "<Message>The user with name ghost cannot be found.</Message></Error>"
                "<RequestId>plumb-test</RequestId></ErrorResponse>",
            )
        if "empty-summary" in FAULTS and action == "GetAccountSummary":
            return xml_answer(
                start_response,
                "200 OK",
                f'<GetAccountSummaryResponse xmlns="{IAM}"><GetAccountSummaryResult><SummaryMap/>'
                "</GetAccountSummaryResult><ResponseMetadata><RequestId>plumb-test</RequestId>"
                "</ResponseMetadata></GetAccountSummaryResponse>",
            )
        return app(environ, start_response)

    return wrapped


def cbor_shim(app):
    """Answers the CloudWatch operations plumb uses in Smithy RPC v2 CBOR."""

    def wrapped(environ, start_response):
        match = CBOR_OPERATION.match(environ.get("PATH_INFO", ""))
        if not match or match.group(1) not in CBOR_OPERATIONS:
            return app(environ, start_response)
        region = SIGNED_REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
        account = environ.get("HTTP_X_MOTO_ACCOUNT_ID", ACCOUNT)
        body = cbor2.dumps(CBOR_OPERATIONS[match.group(1)](account, region.group(1) if region else "us-east-1"))
        start_response(
            "200 OK",
            [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return wrapped


def main():
    # The protocol owns standard output; anything moto prints goes to standard error.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    app = credentials_shim(fault_shim(cbor_shim(DomainDispatcherApplication(create_backend_app))))
    server = make_server("127.0.0.1", 0, app, True, request_handler=MotoRequestHandler)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    endpoint = f"http://{host}:{port}"
    print(f"ready {port}", file=protocol, flush=True)
    import seeds

    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        try:
            if command[0] == "seed":
                getattr(seeds, command[1])(endpoint)
            elif command[0] == "fault":
                if command[1] not in KNOWN_FAULTS:
                    raise ValueError(f"unknown fault {command[1]}")
                FAULTS.add(command[1])
            elif command[0] == "quit":
                break
            else:
                raise ValueError(f"unknown command {command[0]}")
            print("ok", file=protocol, flush=True)
        except Exception as err:  # noqa: BLE001 - reported to the test
            traceback.print_exc(file=sys.stderr)
            print(f"error {err!r}".replace("\n", " "), file=protocol, flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
