import GatewayAuth
import GatewayJSON
import Testing

/// Key pairs generated once per test run with OpenSSL (no key material is checked in).
enum TestKeys {
    static let rsa = Result { () throws(AuthError) in try KeyGenerator.rs256() }
    static let otherRSA = Result { () throws(AuthError) in try KeyGenerator.rs256() }
    static let ec = Result { () throws(AuthError) in try KeyGenerator.es256() }
    static let otherEC = Result { () throws(AuthError) in try KeyGenerator.es256() }
    static let secret = Array("test-secret-0123456789abcdef".utf8)
}

let now = 1_700_000_000

/// Claims with a subject, valid around `now`; `extra` adds or replaces claims.
func claims(_ extra: [(String, JSON)] = [], subject: String? = "alice") -> JSON {
    let claims = JSON.object()
    if let subject { claims.set("sub", subject) }
    claims.set("iat", .integer(now))
    claims.set("exp", .integer(now + 3600))
    for (key, value) in extra { claims.set(key, value) }
    return claims
}

/// A verifier holding every kind of key.
func verifierWithAllKeys(_ settings: (inout AuthSettings) -> Void = { _ in }) throws -> TokenVerifier {
    var all = AuthSettings(hs256Secret: TestKeys.secret, rs256PublicKeyPEM: try TestKeys.rsa.get().publicKeyPEM,
                           es256PublicKeyPEM: try TestKeys.ec.get().publicKeyPEM)
    settings(&all)
    return try TokenVerifier(settings: all)
}

/// The error code of a refused token; records an issue if the token was accepted.
func refusal(_ result: Result<Identity, AuthError>, sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    switch result {
    case .success(let identity):
        Issue.record("token accepted for \(identity.id), expected a refusal", sourceLocation: sourceLocation)
        return nil
    case .failure(let error): return error.code
    }
}

/// Replaces part `index` (0 header, 1 payload, 2 signature) of a compact JWT.
func replacingPart(_ token: String, _ index: Int, with part: String) -> String {
    var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    parts[index] = part
    return parts.joined(separator: ".")
}

func headerPart(_ json: String) -> String { Base64URL.encode(json) }
