// What authentication produces and how it fails. GatewayAuth knows nothing of gateway.conf:
// the server builds AuthSettings from the config (secrets and PEM text already read).

/// The authenticated user of one connection or request.
public struct Identity: Sendable, Equatable {
    /// The token's `sub`.
    public let id: String
    /// `id` first, then the values of the principals claim, without duplicates. Events are
    /// delivered to a connection when their target principals intersect these.
    public let principals: [String]
    /// The title claim (a display name), when the token has one.
    public let title: String?
    /// Whether the publish claim grants the publish scope (POST /api/v1/events).
    public let canPublish: Bool
    /// The token's `exp` (unix seconds), when it has one.
    public let expiresAt: Int?
    /// The string claims named in AuthSettings.keptClaims that the token has (e.g. "email"):
    /// offline delivery reads a recipient's messenger addresses from them.
    public let keptClaims: [String: String]
    /// Whether the admin claim grants the admin scope (the admin console and /api/v1/admin).
    public let isAdmin: Bool
    /// The hosts the token may use (`[auth] hosts_claim`); nil when the token does not say (or
    /// no claim is configured): then `[hosts]` alone decides.
    public let hosts: [String]?

    public init(id: String, principals: [String], title: String?, canPublish: Bool, expiresAt: Int?,
                keptClaims: [String: String] = [:], isAdmin: Bool = false, hosts: [String]? = nil) {
        self.id = id
        self.principals = principals
        self.title = title
        self.canPublish = canPublish
        self.expiresAt = expiresAt
        self.keptClaims = keptClaims
        self.isAdmin = isAdmin
        self.hosts = hosts
    }
}

/// Why a token was refused. `code` is stable (clients and tests match on it); `message` is
/// for logs and never contains the token or key material.
public struct AuthError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// No token was presented.
    public static func missingToken() -> AuthError {
        AuthError(code: "auth.missing_token", message: "no token was presented")
    }
    /// Not three base64url parts, bad base64url, bad JSON, or a claim of the wrong type.
    public static func malformed(_ message: String) -> AuthError { AuthError(code: "auth.malformed_token", message: message) }
    public static func badSignature() -> AuthError {
        AuthError(code: "auth.bad_signature", message: "the token signature does not verify")
    }
    public static func expired(_ exp: Int, now: Int) -> AuthError {
        AuthError(code: "auth.expired", message: "the token expired at \(exp) (now \(now))")
    }
    public static func notYetValid(_ nbf: Int, now: Int) -> AuthError {
        AuthError(code: "auth.not_yet_valid", message: "the token is not valid before \(nbf) (now \(now))")
    }
    /// `none`, `hs256`, RSA-OAEP, … : only the JWS signature algorithms of JWTAlgorithm.
    public static func unsupportedAlgorithm(_ alg: String) -> AuthError {
        AuthError(code: "auth.unsupported_algorithm",
                  message: "algorithm '\(alg)' is not accepted; use one of \(JWTAlgorithm.names)")
    }
    /// The token has no `exp` and `[auth] require_exp` is on (the default).
    public static func missingExpiry() -> AuthError {
        AuthError(code: "auth.missing_exp", message: "the token has no 'exp' claim; tokens that never expire are refused")
    }
    /// The header's `kid` names no key of the JWKS.
    public static func unknownKeyId(_ kid: String) -> AuthError {
        AuthError(code: "auth.unknown_kid", message: "no key with kid '\(kid)' in the JWKS")
    }
    /// The `kid` names a key of another type (or pinned to another `alg`) than the header's `alg`.
    public static func keyAlgorithmMismatch(keyId: String, algorithm: String) -> AuthError {
        AuthError(code: "auth.wrong_algorithm", message: "the key with kid '\(keyId)' cannot verify \(algorithm) tokens")
    }
    /// A `[auth] reject_claims` rule matched (e.g. obj=refresh: a refresh token used to log in).
    public static func claimRejected(_ rule: ClaimRule) -> AuthError {
        AuthError(code: "auth.claim_rejected", message: "tokens with \(rule) are refused here")
    }
    /// A `[auth] require_claims` rule did not match.
    public static func claimRequired(_ rule: ClaimRule) -> AuthError {
        AuthError(code: "auth.claim_required", message: "the token must carry \(rule)")
    }
    public static func missingSubject() -> AuthError {
        AuthError(code: "auth.missing_subject", message: "the token has no 'sub' claim (a non-empty string)")
    }
    /// The token's algorithm is supported, but the gateway has no key configured for it.
    public static func keyUnavailable(_ alg: String) -> AuthError {
        AuthError(code: "auth.key_unavailable", message: "no key is configured for \(alg) tokens")
    }
    /// A configured key (PEM) cannot be used; raised when settings are loaded, not per token.
    public static func invalidKey(_ message: String) -> AuthError { AuthError(code: "auth.invalid_key", message: message) }
    /// A `crit` header names extensions this verifier does not implement (RFC 7515 §4.1.11).
    public static func unsupportedHeader(_ message: String) -> AuthError {
        AuthError(code: "auth.unsupported_header", message: message)
    }
    /// Signing failed inside OpenSSL (minting and key generation only).
    public static func cryptoFailure(_ message: String) -> AuthError { AuthError(code: "auth.crypto_failure", message: message) }
}

/// Keys and claim names for TokenVerifier. Key fields left nil disable those algorithms: the
/// HMAC secret serves HS256/384/512, an RSA key RS256/384/512 and PS256/384/512, an EC key the
/// ES algorithm of its curve, an Ed25519 key EdDSA.
public struct AuthSettings: Sendable {
    public var hs256Secret: [UInt8]?
    public var rs256PublicKeyPEM: String?
    public var es256PublicKeyPEM: String?
    public var principalsClaim: String
    public var titleClaim: String
    public var publishClaim: String
    public var publishScope: String
    public var adminClaim: String
    public var adminScope: String
    /// Allowed clock skew for exp and nbf, seconds.
    public var leewaySeconds: Int
    /// More PEM public keys (RSA, EC P-256/384/521, Ed25519); each verifies what its type allows.
    public var publicKeyPEMs: [String] = []
    /// A JWKS document (RFC 7517); keys are chosen by the header's `kid`.
    public var jwks: String? = nil
    /// Refuse tokens without `exp` (`auth.missing_exp`).
    public var requireExp: Bool = true
    public var requireClaims: [ClaimRule] = []
    public var rejectClaims: [ClaimRule] = []
    /// String claims copied into Identity.keptClaims ([offline] address_claims).
    public var keptClaims: [String] = []
    /// Claim listing the hosts a token may use (array or space-separated string) → Identity.hosts;
    /// nil: not read.
    public var hostsClaim: String? = nil

    public init(hs256Secret: [UInt8]? = nil, rs256PublicKeyPEM: String? = nil, es256PublicKeyPEM: String? = nil,
                principalsClaim: String = "principals", titleClaim: String = "name", publishClaim: String = "scope",
                publishScope: String = "publish", adminClaim: String = "scope", adminScope: String = "admin",
                leewaySeconds: Int = 30) {
        self.hs256Secret = hs256Secret
        self.rs256PublicKeyPEM = rs256PublicKeyPEM
        self.es256PublicKeyPEM = es256PublicKeyPEM
        self.principalsClaim = principalsClaim
        self.titleClaim = titleClaim
        self.publishClaim = publishClaim
        self.publishScope = publishScope
        self.adminClaim = adminClaim
        self.adminScope = adminScope
        self.leewaySeconds = leewaySeconds
    }
}
