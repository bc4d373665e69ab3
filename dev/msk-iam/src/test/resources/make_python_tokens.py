"""Print OAUTHBEARER tokens made by the installed aws-msk-iam-sasl-signer-python, as properties.

Usage: python make_python_tokens.py [YYYYmmddTHHMMSSZ]
With a time, botocore's clock is frozen there (the committed fixture); without, it signs now.
Credentials are the fixed test keys of TestKeys.java, region us-east-1.
"""
import datetime
import importlib.metadata
import sys
from unittest import mock

import botocore.auth
from botocore.credentials import CredentialProvider, Credentials
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider


class Static(CredentialProvider):
    def __init__(self, key, secret, token=None):
        super().__init__()
        self.creds = Credentials(key, secret, token)

    def load(self):
        return self.creds


def tokens():
    plain = Static("LOCALTESTKEYID01", "local-test-secret-0001")
    session = Static("LOCALTESTKEYID02", "local-test-secret-0002", "local-test-session-token/with+special=chars")
    out = {}
    for name, provider in (("token", plain), ("tokenWithSessionToken", session)):
        out[name], out[name + ".expiryMs"] = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(
            "us-east-1", provider)
    return out


if len(sys.argv) > 1:
    frozen = datetime.datetime.strptime(sys.argv[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=frozen):
        result = tokens()
else:
    result = tokens()
print("signer=aws-msk-iam-sasl-signer-python/" + importlib.metadata.version("aws-msk-iam-sasl-signer-python"))
print("botocore=" + importlib.metadata.version("botocore"))
for key, value in result.items():
    print(f"{key}={value}")
