"""Optional Cognito sign-in in the package template, switched on by the ``AuthMode`` parameter.

``AuthMode=cognito`` (condition ``UseCognito``) adds:

- ``CognitoUserPool``: agents' accounts, e-mail as the user name, created by an administrator only
  (no self sign-up), optional TOTP MFA, kept when the stack is deleted;
- ``CognitoUserPoolClient``: the console's public app client (no secret: a browser cannot keep one),
  authorization-code flow with PKCE, callback and sign-out URL = the console
  (``https://<api>/api/console``, and ``<PublicBaseUrl>/console`` when set); users can write only
  their ``name`` (an agent changing their own ``email`` would sign in as someone else);
- ``CognitoUserPoolDomain``: the hosted UI, ``https://<prefix>.auth.<region>.amazoncognito.com``
  (prefix ``CognitoDomainPrefix``, default ``helpdesk-<Stage>-<account id>``);
- ``CognitoClientIdParameter``: SSM ``/helpdesk/<Stage>/cognito-client-id``. The console page needs
  the client id, but the client refers to the API (its callback URL) and the API to its function, so
  the function cannot refer to the client: it reads the parameter (cached) instead;
- the REST API's ``cognito_user_pools`` authorizer on every route that authenticates an agent
  (``security`` in the API definition; webhooks, the console page and ``/openapi.json`` stay open).
  API Gateway verifies the token (signature, expiry, issuer, audience) and passes its claims to the
  function, which finds the agent by ``CognitoAgentClaim``.

With ``AuthMode=token`` (default) none of this exists and the API takes agent tokens.
"""

from __future__ import annotations

from typing import Any

from infra.template_resources import BuildError

POOL_ID = "CognitoUserPool"
CLIENT_ID = "CognitoUserPoolClient"
DOMAIN_ID = "CognitoUserPoolDomain"
CLIENT_PARAM_ID = "CognitoClientIdParameter"
AUTHORIZER = "HelpdeskCognito"
CONDITION = "UseCognito"
CLIENT_ID_PARAM = "/helpdesk/${Stage}/cognito-client-id"
NO_VALUE = {"Ref": "AWS::NoValue"}


def cognito_parameters() -> dict[str, Any]:
    """The parameters switching and tuning Cognito sign-in."""
    return {
        "AuthMode": {"Type": "String", "Default": "token", "AllowedValues": ["token", "cognito"],
                     "Description": "token: agents sign in with API tokens (helpdesk agent token); cognito: a "
                                    "user pool, the hosted UI for the console and an API Gateway authorizer"},
        "CognitoAgentClaim": {"Type": "String", "Default": "email",
                              "AllowedPattern": "^(email|cognito:username|sub|custom:[A-Za-z0-9_]{1,20})$",
                              "Description": "ID token claim naming the agent: email is matched against the "
                                             "agent's e-mail, any other claim is the agent id"},
        "CognitoDomainPrefix": {"Type": "String", "Default": "",
                                "AllowedPattern": "^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)?$",
                                "Description": "Hosted UI domain prefix (empty: helpdesk-<Stage>-<account id>)"},
    }


def cognito_conditions() -> dict[str, Any]:
    """``UseCognito`` and the domain prefix default."""
    return {
        CONDITION: {"Fn::Equals": [{"Ref": "AuthMode"}, "cognito"]},
        "HasCognitoDomainPrefix": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CognitoDomainPrefix"}, ""]}]},
        "HasPublicBaseUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicBaseUrl"}, ""]}]},
    }


def _prefix() -> dict[str, Any]:
    return {"Fn::If": ["HasCognitoDomainPrefix", {"Ref": "CognitoDomainPrefix"},
                       {"Fn::Sub": "helpdesk-${Stage}-${AWS::AccountId}"}]}


def hosted_ui_url() -> dict[str, Any]:
    """The hosted UI's base URL (only meaningful in Cognito mode)."""
    return {"Fn::Sub": ["https://${Prefix}.auth.${AWS::Region}.amazoncognito.com", {"Prefix": _prefix()}]}


def cognito_environment() -> dict[str, Any]:
    """Environment of every function: auth mode, the claim, the hosted UI and where the client id is."""
    return {
        "HELPDESK_AUTH_MODE": {"Ref": "AuthMode"},
        "HELPDESK_COGNITO_AGENT_CLAIM": {"Ref": "CognitoAgentClaim"},
        "HELPDESK_COGNITO_DOMAIN": {"Fn::If": [CONDITION, hosted_ui_url(), ""]},
    }


def api_environment() -> dict[str, Any]:
    """Environment of the API function only: where the console's app client id is (SSM, per stage)."""
    return {"HELPDESK_COGNITO_CLIENT_ID_PARAM": {"Fn::If": [CONDITION, {"Fn::Sub": CLIENT_ID_PARAM}, ""]}}


def cognito_resources(console_url: dict[str, Any]) -> dict[str, Any]:
    """The user pool, the console's app client, the hosted UI domain and the client id parameter."""
    urls = [console_url, {"Fn::If": ["HasPublicBaseUrl", {"Fn::Sub": "${PublicBaseUrl}/console"}, NO_VALUE]}]
    return {
        POOL_ID: {
            "Type": "AWS::Cognito::UserPool", "Condition": CONDITION,
            "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",  # agents' accounts outlive the stack
            "Properties": {
                "UserPoolName": {"Fn::Sub": "helpdesk-${Stage}-agents"},
                "UsernameAttributes": ["email"],
                "AutoVerifiedAttributes": ["email"],
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]},
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "Policies": {"PasswordPolicy": {"MinimumLength": 12, "RequireLowercase": True,
                                                "RequireUppercase": True, "RequireNumbers": True,
                                                "RequireSymbols": False, "TemporaryPasswordValidityDays": 7}},
                "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
            },
        },
        CLIENT_ID: {
            "Type": "AWS::Cognito::UserPoolClient", "Condition": CONDITION,
            "Properties": {
                "UserPoolId": {"Ref": POOL_ID},
                "ClientName": {"Fn::Sub": "helpdesk-${Stage}-console"},
                "GenerateSecret": False,
                "AllowedOAuthFlowsUserPoolClient": True,
                "AllowedOAuthFlows": ["code"],
                "AllowedOAuthScopes": ["openid", "email", "profile"],
                "CallbackURLs": urls,
                "LogoutURLs": urls,
                "SupportedIdentityProviders": ["COGNITO"],
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "ReadAttributes": ["email", "email_verified", "name"],
                "WriteAttributes": ["name"],
                "IdTokenValidity": 60, "AccessTokenValidity": 60, "RefreshTokenValidity": 12,
                "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "minutes", "RefreshToken": "hours"},
            },
        },
        DOMAIN_ID: {"Type": "AWS::Cognito::UserPoolDomain", "Condition": CONDITION,
                    "Properties": {"UserPoolId": {"Ref": POOL_ID}, "Domain": _prefix()}},
        CLIENT_PARAM_ID: {"Type": "AWS::SSM::Parameter", "Condition": CONDITION,
                          "Properties": {"Name": {"Fn::Sub": CLIENT_ID_PARAM}, "Type": "String",
                                         "Value": {"Ref": CLIENT_ID},
                                         "Description": "The console's Cognito app client id (read by the API)"}},
    }


def cognito_outputs() -> dict[str, Any]:
    """Outputs an operator needs to add agents' Cognito users."""
    return {
        "CognitoUserPoolId": {"Condition": CONDITION, "Description": "Add agents' users here (admin-create-user)",
                              "Value": {"Ref": POOL_ID}},
        "CognitoHostedUiUrl": {"Condition": CONDITION, "Description": "The hosted UI the console signs in with",
                               "Value": hosted_ui_url()},
    }


def api_authorizer(guarded: list[tuple[str, str]]) -> dict[str, Any]:
    """The patch of the REST API's definition: the authorizer and its use on each (path, METHOD)."""
    paths: dict[str, Any] = {}
    for path, method in guarded:
        paths.setdefault(path, {})[method.lower()] = {
            "security": {"Fn::If": [CONDITION, [{AUTHORIZER: []}], NO_VALUE]}}
    return {"Properties": {"DefinitionBody": {
        "securityDefinitions": {AUTHORIZER: {"Fn::If": [CONDITION, {
            "type": "apiKey", "name": "Authorization", "in": "header",
            "x-amazon-apigateway-authtype": "cognito_user_pools",
            "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools",
                                               "providerARNs": [{"Fn::GetAtt": [POOL_ID, "Arn"]}]},
        }, NO_VALUE]}},
        "paths": paths,
    }}}


def guarded_routes(app: Any) -> list[tuple[str, str]]:
    """(path, METHOD) of every route whose view authenticates an agent: behind the authorizer."""
    from chalicelib.api.openapi import needs_agent

    out = [(path, method) for path, methods in sorted(app.routes.items())
           for method, entry in sorted(methods.items()) if needs_agent(entry.view_function)]
    if not out:
        raise BuildError("no route authenticates an agent: the Cognito authorizer would guard nothing")
    return out


def check_authorizer(template: dict[str, Any], guarded: list[tuple[str, str]]) -> None:
    """Every guarded route exists in the generated API definition (the merge hit real operations)."""
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    missing = [(p, m) for p, m in guarded if "x-amazon-apigateway-integration" not in body["paths"].get(p, {})
               .get(m.lower(), {})]
    if missing:
        raise BuildError(f"the Cognito authorizer patches routes chalice package did not generate: {missing[:3]}")
