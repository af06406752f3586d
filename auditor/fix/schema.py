"""Element order of the Metadata API types the writer edits: the `xsd:sequence` of each complex type
in the Metadata WSDL v66.0 (salesforce-facts.md §1.2 and §2.2, source S1). Salesforce retrieves
elements in this order and a new element is inserted where it would put it. `fullName`, inherited
from `Metadata`, comes first wherever it appears."""

from __future__ import annotations

CONNECTED_APP = (
    "fullName", "attributes", "canvas", "canvasConfig", "contactEmail", "contactPhone", "description", "iconUrl",
    "infoUrl", "ipRanges", "label", "logoUrl", "mobileAppConfig", "mobileStartUrl", "oauthConfig", "oauthPolicy",
    "permissionSetName", "plugin", "pluginExecutionUser", "profileName", "samlConfig", "sessionPolicy", "startUrl",
)
CONNECTED_APP_OAUTH_CONFIG = (
    "assetTokenConfig", "callbackUrl", "certificate", "consumerKey", "consumerSecret", "idTokenConfig",
    "isAdminApproved", "isClientCredentialEnabled", "isCodeCredentialEnabled", "isCodeCredentialPostOnly",
    "isConsumerSecretOptional", "isIntrospectAllTokens", "isNamedUserJwtEnabled", "isPkceRequired",
    "isRefreshTokenRotationEnabled", "isSecretRequiredForRefreshToken", "isSecretRequiredForTokenExchange",
    "isTokenExchangeEnabled", "oauthClientCredentialUser", "scopes", "singleLogoutUrl",
)
CONNECTED_APP_OAUTH_POLICY = ("ipRelaxation", "isTokenExchangeFlowEnabled", "refreshTokenPolicy", "singleLogoutUrl")

ECA_GLOBAL_OAUTH = (
    "fullName", "callbackUrl", "certificate", "consumerKey", "consumerSecret", "externalClientApplication",
    "idTokenConfig", "isClientCredentialsFlowEnabled", "isCodeCredFlowEnabled", "isCodeCredPostOnly",
    "isConsumerSecretOptional", "isDeviceFlowEnabled", "isIntrospectAllTokens", "isNamedUserJwtEnabled",
    "isPkceRequired", "isRefreshTokenRotationEnabled", "isSecretRequiredForRefreshToken",
    "isSecretRequiredForTokenExchange", "isTokenExchangeEnabled", "label", "shouldRotateConsumerKey",
    "shouldRotateConsumerSecret",
)
ECA_OAUTH_SETTINGS = (
    "fullName", "areAttributesIncludedInAssetToken", "areCustomPermsIncludedInAssetToken", "assetTokenAudiences",
    "assetTokenSigningCertificate", "assetTokenValidity", "clientAssertionCertificate", "commaSeparatedCustomScopes",
    "commaSeparatedOauthScopes", "customAttributes", "externalClientApplication", "isFirstPartyAppEnabled", "label",
    "oauthLink", "singleLogoutUrl", "trustedIpRanges",
)
ECA_OAUTH_POLICIES = (
    "fullName", "apexHandler", "clientCredentialsFlowUser", "commaSeparatedCustomScopes",
    "commaSeparatedPermissionSet", "commaSeparatedProfile", "customAttributes", "executeHandlerAs",
    "externalClientApplication", "guestJwtSessionTimeoutType", "guestJwtTimeout", "ipRelaxationPolicyType",
    "isClientCredentialsFlowEnabled", "isGuestCodeCredFlowEnabled", "isTokenExchangeFlowEnabled", "label",
    "namedUserJwtSessionTimeoutType", "namedUserJwtTimeout", "permittedUsersPolicyType", "policyAction",
    "refreshTokenPolicyType", "refreshTokenValidityPeriod", "refreshTokenValidityUnit", "requiredSessionLevel",
    "sessionTimeoutInMinutes", "singleLogoutUrl", "startUrl",
)

# Root element of a document → the order of its children.
ROOT_ORDER = {
    "ConnectedApp": CONNECTED_APP,
    "ExtlClntAppGlobalOauthSettings": ECA_GLOBAL_OAUTH,
    "ExtlClntAppOauthSettings": ECA_OAUTH_SETTINGS,
    "ExtlClntAppOauthConfigurablePolicies": ECA_OAUTH_POLICIES,
}
