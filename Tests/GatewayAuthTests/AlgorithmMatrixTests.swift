import GatewayAuth
import GatewayJSON
import Testing

/// Every JWS algorithm, with keys made and tokens signed by the openssl CLI: a valid token, a
/// token signed by another key of the same kind, and a token whose header claims another
/// algorithm than the one it was signed with.
@Suite("JWT algorithms (openssl CLI keys)")
struct AlgorithmMatrixTests {
    static let algorithms = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                             "ES256", "ES384", "ES512", "EdDSA"]

    /// The algorithm a token signed with `algorithm` pretends to be in the wrong-algorithm case.
    static let impostor = ["HS256": "HS512", "HS384": "HS256", "HS512": "HS384",
                           "RS256": "RS512", "RS384": "PS384", "RS512": "RS256",
                           "PS256": "RS256", "PS384": "PS512", "PS512": "PS256",
                           "ES256": "ES384", "ES384": "ES256", "ES512": "ES256", "EdDSA": "ES256"]

    private func verifier(for key: OpenSSLCLIKey) throws -> TokenVerifier {
        var settings = AuthSettings(hs256Secret: key.secret.map { Array($0.utf8) })
        if let pem = key.publicKeyPEM { settings.publicKeyPEMs = [pem] }
        return try TokenVerifier(settings: settings)
    }

    @Test(arguments: algorithms)
    func configuredKey(_ algorithm: String) throws {
        let key = try OpenSSLCLIKey(algorithm)
        let verifier = try verifier(for: key)
        #expect(verifier.enabledAlgorithms.contains(algorithm))

        let identity = try verifier.verify(try key.sign(claims()), now: now).get()
        #expect(identity.id == "alice")

        let other = try OpenSSLCLIKey(algorithm)
        #expect(refusal(verifier.verify(try other.sign(claims()), now: now)) == "auth.bad_signature", "wrong key")

        // Signed correctly, but the header names another algorithm: never accepted. The code
        // depends on whether a key of the claimed kind exists.
        let lying = try key.sign(claims(), alg: Self.impostor[algorithm]!)
        let code = refusal(verifier.verify(lying, now: now))
        #expect(code == "auth.bad_signature" || code == "auth.key_unavailable", "wrong algorithm: \(code ?? "accepted")")
    }

    @Test(arguments: algorithms)
    func jwksKeyChosenByKid(_ algorithm: String) throws {
        let key = try OpenSSLCLIKey(algorithm)
        let other = try OpenSSLCLIKey(algorithm)
        let verifier = try TokenVerifier(settings: {
            var settings = AuthSettings()
            settings.jwks = OpenSSLCLIKey.jwks([try key.jwk(kid: "current"), try other.jwk(kid: "previous")])
            return settings
        }())
        #expect(try verifier.verify(try key.sign(claims(), kid: "current"), now: now).get().id == "alice")
        #expect(try verifier.verify(try other.sign(claims(), kid: "previous"), now: now).get().id == "alice")
        #expect(try verifier.verify(try key.sign(claims()), now: now).get().id == "alice", "no kid: every fitting key is tried")
        #expect(refusal(verifier.verify(try key.sign(claims(), kid: "previous"), now: now)) == "auth.bad_signature",
                "wrong key for the kid")
        #expect(refusal(verifier.verify(try key.sign(claims(), kid: "nobody"), now: now)) == "auth.unknown_kid")
        #expect(refusal(verifier.verify(try key.sign(claims(), alg: Self.impostor[algorithm]!, kid: "current"), now: now))
                == "auth.wrong_algorithm", "the JWKS pins each key's alg")
    }
}

@Suite("JWKS reload and claim rules")
struct KeySetAndClaimTests {
    @Test func reloadReplacesTheKeysAndABrokenFileKeepsTheOldOnes() throws {
        let first = try OpenSSLCLIKey("ES512")
        let second = try OpenSSLCLIKey("RS256")
        var settings = AuthSettings()
        settings.jwks = OpenSSLCLIKey.jwks([try first.jwk(kid: "k1")])
        let verifier = try TokenVerifier(settings: settings)
        let oldToken = try first.sign(claims(), kid: "k1")
        let newToken = try second.sign(claims(), kid: "k2")
        #expect(try verifier.verify(oldToken, now: now).get().id == "alice")
        #expect(refusal(verifier.verify(newToken, now: now)) == "auth.unknown_kid")

        try verifier.reloadJWKS(OpenSSLCLIKey.jwks([try second.jwk(kid: "k2")]))
        #expect(try verifier.verify(newToken, now: now).get().id == "alice")
        #expect(refusal(verifier.verify(oldToken, now: now)) == "auth.unknown_kid", "a removed key no longer verifies")

        #expect(throws: AuthError.self) { try verifier.reloadJWKS(#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}"#) }
        #expect(throws: AuthError.self) { try verifier.reloadJWKS("not json") }
        #expect(try verifier.verify(newToken, now: now).get().id == "alice", "a broken JWKS leaves the keys in force")
    }

    @Test func jwksKeysThatAreNotForSignaturesAreSkipped() throws {
        let key = try OpenSSLCLIKey("EdDSA")
        let encryption = JSON.object()
        encryption.set("kty", "RSA")
        encryption.set("use", "enc")
        encryption.set("kid", "enc")
        let x25519 = JSON.object()
        x25519.set("kty", "OKP")
        x25519.set("crv", "X25519")
        x25519.set("x", "AAAA")
        var settings = AuthSettings()
        settings.jwks = OpenSSLCLIKey.jwks([encryption, x25519, try key.jwk(kid: "ed", pinAlgorithm: false)])
        let verifier = try TokenVerifier(settings: settings)
        #expect(verifier.enabledAlgorithms == ["EdDSA"])
    }

    @Test func refreshTokensAndTokensWithoutExpiryAreRefused() throws {
        let key = try OpenSSLCLIKey("HS512")
        var settings = AuthSettings(hs256Secret: Array(key.secret!.utf8))
        settings.rejectClaims = [ClaimRule("obj=refresh")!]
        let verifier = try TokenVerifier(settings: settings)
        #expect(refusal(verifier.verify(try key.sign(claims([("obj", .string("refresh"))])), now: now)) == "auth.claim_rejected")
        #expect(try verifier.verify(try key.sign(claims([("obj", .string("access"))])), now: now).get().id == "alice")

        let noExpiry = claims()
        noExpiry.remove("exp")
        #expect(refusal(verifier.verify(try key.sign(noExpiry), now: now)) == "auth.missing_exp", "require_exp is on by default")
        settings.requireExp = false
        #expect(try TokenVerifier(settings: settings).verify(try key.sign(noExpiry), now: now).get().expiresAt == nil)

        settings.requireClaims = [ClaimRule("obj=access")!, ClaimRule("aud")!]
        let strict = try TokenVerifier(settings: settings)
        #expect(refusal(strict.verify(try key.sign(claims([("obj", .string("access"))])), now: now)) == "auth.claim_required")
        #expect(try strict.verify(try key.sign(claims([("obj", .string("access")), ("aud", .strings(["chat"]))])), now: now)
            .get().id == "alice")
        #expect(ClaimRule("=x") == nil)
    }
}
