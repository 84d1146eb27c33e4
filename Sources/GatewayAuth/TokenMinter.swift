// Issuing tokens: `gateway token` for development and operations, and the tests. Production
// tokens usually come from an identity provider; these use the same claim names the verifier
// reads, so a minted token round-trips.
import GatewayJSON

/// A key that signs tokens.
public enum SigningKey: Sendable {
    case hs256(secret: [UInt8])
    case rs256(privateKeyPEM: String)
    case es256(privateKeyPEM: String)

    var algorithm: String {
        switch self {
        case .hs256: return "HS256"
        case .rs256: return "RS256"
        case .es256: return "ES256"
        }
    }
}

public enum TokenMinter {
    /// An HS256 token for `subject` valid from `now` for `ttlSeconds`.
    public static func hs256(secret: [UInt8], subject: String, principals: [String], title: String?, publish: Bool,
                             ttlSeconds: Int, now: Int, principalsClaim: String = "principals",
                             publishClaim: String = "scope", publishScope: String = "publish",
                             titleClaim: String = "name", extraClaims: [String: String] = [:], admin: Bool = false,
                             adminClaim: String = "scope", adminScope: String = "admin") -> String {
        let claims = standardClaims(subject: subject, principals: principals, title: title, publish: publish,
                                    ttlSeconds: ttlSeconds, now: now, principalsClaim: principalsClaim,
                                    publishClaim: publishClaim, publishScope: publishScope, titleClaim: titleClaim,
                                    admin: admin, adminClaim: adminClaim, adminScope: adminScope)
        for (name, value) in extraClaims.sorted(by: { $0.key < $1.key }) { claims.set(name, value) }
        let input = signingInput(header: header(for: "HS256"), claims: claims)
        // HMAC over bytes cannot fail, so neither can this.
        let mac = Array(input.utf8).withUnsafeBytes { Crypto.hmacSHA256(key: secret, message: $0) }
        return input + "." + Base64URL.encode(mac)
    }

    /// The claims a gateway token carries: sub, principals, title, publish and admin scopes, iat,
    /// nbf, exp. Scopes sharing one claim are written space-separated ("publish admin").
    public static func standardClaims(subject: String, principals: [String], title: String?, publish: Bool,
                                      ttlSeconds: Int, now: Int, principalsClaim: String = "principals",
                                      publishClaim: String = "scope", publishScope: String = "publish",
                                      titleClaim: String = "name", admin: Bool = false,
                                      adminClaim: String = "scope", adminScope: String = "admin") -> JSON {
        let claims = JSON.object()
        claims.set("sub", subject)
        if !principals.isEmpty { claims.set(principalsClaim, .strings(principals)) }
        if let title { claims.set(titleClaim, title) }
        var scopes: [(claim: String, words: [String])] = []
        func grant(_ scope: String, in claim: String) {
            if let index = scopes.firstIndex(where: { $0.claim == claim }) { scopes[index].words.append(scope) }
            else { scopes.append((claim, [scope])) }
        }
        if publish { grant(publishScope, in: publishClaim) }
        if admin { grant(adminScope, in: adminClaim) }
        for scope in scopes { claims.set(scope.claim, scope.words.joined(separator: " ")) }
        claims.set("iat", .integer(now))
        claims.set("nbf", .integer(now))
        claims.set("exp", .integer(now + ttlSeconds))
        return claims
    }

    /// Signs any claim set with any supported key; `header` defaults to {"alg": …, "typ": "JWT"}
    /// and, when given, is used as it is (so tests can craft unusual headers).
    public static func sign(claims: JSON, with key: SigningKey, header: JSON? = nil) throws(AuthError) -> String {
        try sign(signingInput: signingInput(header: header ?? self.header(for: key.algorithm), claims: claims), with: key)
    }

    /// Signs an already encoded "header.payload" and appends the signature. For tools and tests
    /// that need bytes the JSON encoder would never produce.
    public static func sign(signingInput input: String, with key: SigningKey) throws(AuthError) -> String {
        let message = Array(input.utf8)
        let signature: [UInt8]
        switch key {
        case .hs256(let secret):
            signature = message.withUnsafeBytes { Crypto.hmacSHA256(key: secret, message: $0) }
        case .rs256(let pem):
            signature = try OpenSSLKey.privateKey(pem: pem, expecting: .rsa, label: "RS256 private key")
                .signSHA256(message: message)
        case .es256(let pem):
            let der = try OpenSSLKey.privateKey(pem: pem, expecting: .ecP256, label: "ES256 private key")
                .signSHA256(message: message)
            guard let raw = Crypto.rawECDSASignature(fromDER: der) else {
                throw .cryptoFailure("the ECDSA signature could not be converted to R||S")
            }
            signature = raw
        }
        return input + "." + Base64URL.encode(signature)
    }

    /// "30s", "15m", "1h", "7d" or a plain number of seconds; nil for anything else or zero.
    public static func parseTTL(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let multipliers: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text)
        var multiplier = 1
        if !last.isNumber {
            guard let unit = multipliers[last] else { return nil }
            multiplier = unit
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let count = Int(digits), count > 0 else {
            return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : seconds
    }

    private static func header(for algorithm: String) -> JSON {
        let header = JSON.object()
        header.set("alg", algorithm)
        header.set("typ", "JWT")
        return header
    }

    private static func signingInput(header: JSON, claims: JSON) -> String {
        Base64URL.encode(header.encoded()) + "." + Base64URL.encode(claims.encoded())
    }
}
