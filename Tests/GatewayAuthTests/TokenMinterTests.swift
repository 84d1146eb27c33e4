import GatewayAuth
import GatewayJSON
import Testing

@Suite("Token minting, keys, base64url, TTL")
struct TokenMinterTests {
    static func hs256(_ claims: JSON, secret: [UInt8] = TestKeys.secret) -> String {
        // HS256 signing cannot fail; a thrown error here would be a bug worth crashing the test on.
        (try? TokenMinter.sign(claims: claims, with: .hs256(secret: secret))) ?? "signing-failed"
    }

    /// HS256 over an arbitrary signing input (for payloads that are not JSON objects).
    static func hs256Raw(_ input: String) -> String {
        (try? TokenMinter.sign(signingInput: input, with: .hs256(secret: TestKeys.secret))) ?? "signing-failed"
    }

    @Test func mintedHS256TokenRoundTrips() throws {
        let token = TokenMinter.hs256(secret: TestKeys.secret, subject: "alice", principals: ["group:staff", "alice"],
                                      title: "Alice", publish: true, ttlSeconds: 3600, now: now)
        let identity = try TokenVerifier(settings: AuthSettings(hs256Secret: TestKeys.secret)).verify(token, now: now + 10).get()
        #expect(identity == Identity(id: "alice", principals: ["alice", "group:staff"], title: "Alice", canPublish: true,
                                     expiresAt: now + 3600))
        let header = try JSON.parse(try #require(Base64URL.decode(Array(token.split(separator: ".")[0].utf8))))
        #expect(header.encodedString() == #"{"alg":"HS256","typ":"JWT"}"#)
    }

    @Test func mintingUsesTheConfiguredClaimNames() throws {
        let token = TokenMinter.hs256(secret: TestKeys.secret, subject: "bob", principals: ["g"], title: nil, publish: true,
                                      ttlSeconds: 60, now: now, principalsClaim: "groups", publishClaim: "perm",
                                      publishScope: "send", titleClaim: "display")
        let payload = try JSON.parse(try #require(Base64URL.decode(Array(token.split(separator: ".")[1].utf8))))
        #expect(payload.view["groups"].strings == ["g"])
        #expect(payload.view["perm"].string == "send")
        #expect(payload.view["display"].exists == false)
        #expect(payload.view["exp"].int == now + 60)
        let settings = AuthSettings(hs256Secret: TestKeys.secret, principalsClaim: "groups", publishClaim: "perm",
                                    publishScope: "send")
        let identity = try TokenVerifier(settings: settings).verify(token, now: now).get()
        #expect(identity.principals == ["bob", "g"])
        #expect(identity.canPublish)
        #expect(try TokenVerifier(settings: settings).verify(token, now: now + 90).failure?.code == "auth.expired")
        #expect(try TokenVerifier(settings: settings).verify(token, now: now + 89).get().id == "bob")
    }

    @Test func unpublishableTokenHasNoScope() throws {
        let token = TokenMinter.hs256(secret: TestKeys.secret, subject: "carol", principals: [], title: nil, publish: false,
                                      ttlSeconds: 60, now: now)
        let identity = try TokenVerifier(settings: AuthSettings(hs256Secret: TestKeys.secret)).verify(token, now: now).get()
        #expect(identity.principals == ["carol"])
        #expect(!identity.canPublish)
        #expect(identity.title == nil)
    }

    @Test func invalidKeySettingsAreRefusedAtInit() throws {
        let rsa = try TestKeys.rsa.get(), ec = try TestKeys.ec.get()
        let cases: [(AuthSettings, String)] = [
            (AuthSettings(hs256Secret: []), "HS256 secret is empty"),
            (AuthSettings(rs256PublicKeyPEM: "not a pem"), "not a PEM key"),
            (AuthSettings(rs256PublicKeyPEM: ec.publicKeyPEM), "not an RSA key"),
            (AuthSettings(es256PublicKeyPEM: rsa.publicKeyPEM), "not an EC key"),
            (AuthSettings(rs256PublicKeyPEM: String(rsa.publicKeyPEM.dropLast(40))), "not a PEM key"),
            (AuthSettings(rs256PublicKeyPEM: try KeyGenerator.rs256(bits: 1024).publicKeyPEM), "shorter than 2048"),
        ]
        for (settings, message) in cases {
            do {
                _ = try TokenVerifier(settings: settings)
                Issue.record("accepted: \(message)")
            } catch {
                #expect(error.code == "auth.invalid_key")
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
        // A private key given where a private key of the other kind is needed.
        #expect(throws: AuthError.self) { try TokenMinter.sign(claims: claims(), with: .rs256(privateKeyPEM: ec.privateKeyPEM)) }
    }

    @Test func base64URLKnownVectorsAndRoundTrips() {
        let vectors = [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"),
                       ("foobar", "Zm9vYmFy")]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(plain) == encoded)
            #expect(Base64URL.decode(Array(encoded.utf8)) == Array(plain.utf8))
        }
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF, 0x00, 0x3E, 0x3F]
        #expect(Base64URL.encode(bytes) == "-_-_AD4_")
        for length in 0..<40 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Array(Base64URL.encode(data).utf8)) == data)
        }
        for bad in ["Zg==", "Zh", "Z", "Zm9v+", "Zm9v/", "Zm 9v", "Zm9\n"] {
            #expect(Base64URL.decode(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test func ttlParsing() {
        #expect(TokenMinter.parseTTL("30s") == 30)
        #expect(TokenMinter.parseTTL("15m") == 900)
        #expect(TokenMinter.parseTTL("1h") == 3600)
        #expect(TokenMinter.parseTTL("7d") == 604_800)
        #expect(TokenMinter.parseTTL("45") == 45)
        for bad in ["", "h", "0s", "-5m", "1.5h", "1w", "1 h", "99999999999999999999d", "3000000000000000000d"] {
            #expect(TokenMinter.parseTTL(bad) == nil, "\(bad)")
        }
    }
}
