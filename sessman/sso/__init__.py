"""IAM Identity Center (SSO): sign in with the device flow, role credentials, populate.

- :mod:`sessman.sso.http`: JSON over HTTPS to the sso-oidc and portal APIs
  (urllib only: signing in and handing over credentials never import boto3),
  their errors, and a request rate limiter;
- :mod:`sessman.sso.storage`: the keyring entry (tokens, client registration) and
  the ``~/.aws/sso/cache`` file;
- :mod:`sessman.sso.tokens`: the login (RegisterClient, StartDeviceAuthorization,
  CreateToken), refresh and logout;
- :mod:`sessman.sso.portal`: GetRoleCredentials, ListAccounts, ListAccountRoles;
- :mod:`sessman.sso.populate`: one profile per account and role in the profiles file.

Nothing is imported here, so ``import sessman.sso.tokens`` costs only that module.
"""
