import GatewayAuth
import GatewayCore
import Logging

/// gateway.conf [auth] → the verifier's settings: secrets and key files read once, at start.
enum AuthSettingsResolver {
    static func settings(from config: GatewayConfig, logger: Logger) throws -> AuthSettings {
        let auth = config.auth
        let secret = try config.resolvedHS256Secret()
        if secret.isDevelopmentDefault {
            logger.warning("using the built-in development HS256 secret: set [auth] hs256_secret, hs256_secret_file or hs256_secret_env before exposing this gateway")
        }
        let keys = try config.resolvedPublicKeyPEMs()
        var settings = AuthSettings(
            hs256Secret: secret.secret,
            rs256PublicKeyPEM: keys.rs256,
            es256PublicKeyPEM: keys.es256,
            principalsClaim: auth.principalsClaim,
            titleClaim: auth.titleClaim,
            publishClaim: auth.publishClaim,
            publishScope: auth.publishScope,
            adminClaim: auth.adminClaim,
            adminScope: auth.adminScope,
            leewaySeconds: auth.leewaySeconds)
        settings.publicKeyPEMs = try config.resolvedExtraPublicKeyPEMs()
        settings.jwks = try config.resolvedJWKS()
        settings.requireExp = auth.requireExp
        settings.requireClaims = auth.requireClaims.compactMap(ClaimRule.init)
        settings.rejectClaims = auth.rejectClaims.compactMap(ClaimRule.init)
        settings.keptClaims = Array(Set(config.offline.claimByAlias.values)).sorted()
        settings.hostsClaim = auth.hostsClaim
        return settings
    }
}
