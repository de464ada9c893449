"""MSAL Python and the Defender how-to's own Python sample against the sandbox over HTTPS.

Run by tests/msal/run.sh with the sandbox's base URL as argv[1]; the CA to trust comes from
REQUESTS_CA_BUNDLE / SSL_CERT_FILE and the secret from CONSENTRY_CLIENT_SECRET. Exits non-zero on the
first thing that does not work as it does against Entra ID.
"""
import base64
import json
import os
import sys
import urllib.parse
import urllib.request

import msal

BASE = sys.argv[1]
SECRET = os.environ["CONSENTRY_CLIENT_SECRET"]
# manifests/demo.sandbox.yaml: the demo app and its tenant Fabrikam.
CLIENT_ID = "5b0e7c3a-9d14-4f62-8a37-c1e2f4d6b890"
TENANT = "7b500f41-1b86-42be-b006-bffbd7a67b9f"


def claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def expect(condition, what):
    if not condition:
        print("FAIL:", what)
        sys.exit(1)


# MSAL validates an authority it does not know against Microsoft's instance discovery
# (login.microsoftonline.com) unless told otherwise: once with instance discovery off, once with
# the sandbox's own instance discovery endpoint.
for label, discovery in [
    ("instance_discovery=False", False),
    ("instance discovery on the sandbox", BASE + "/common/discovery/instance"),
]:
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=SECRET,
        authority=f"{BASE}/{TENANT}",
        instance_discovery=discovery,
    )
    result = app.acquire_token_for_client(
        scopes=["https://api.security.microsoft.com/.default"]
    )
    expect("access_token" in result, f"MSAL ({label}): {result}")
    token = claims(result["access_token"])
    expect(token["tid"] == TENANT, f"MSAL ({label}): tid {token['tid']}")
    expect(token["roles"] == ["Incident.Read.All"], f"MSAL ({label}): roles {token.get('roles')}")
    print(f"ok: MSAL Python {msal.__version__} ({label})")

# The Defender for Endpoint how-to's Python sample, only the host changed: v1 endpoint, the
# legacy resource name.
url = BASE + "/%s/oauth2/token" % TENANT
body = {
    "resource": "https://api.securitycenter.windows.com",
    "client_id": CLIENT_ID,
    "client_secret": SECRET,
    "grant_type": "client_credentials",
}
data = urllib.parse.urlencode(body).encode("utf-8")
response = urllib.request.urlopen(urllib.request.Request(url, data), timeout=30)
answer = json.loads(response.read())
token = claims(answer["access_token"])
expect(token["aud"] == "https://api.securitycenter.windows.com", f"how-to sample: aud {token['aud']}")
expect(token["roles"] == ["Alert.Read.All", "Machine.Read.All"], f"how-to sample: roles {token.get('roles')}")
print("ok: the how-to's Python sample (v1, https://api.securitycenter.windows.com)")
