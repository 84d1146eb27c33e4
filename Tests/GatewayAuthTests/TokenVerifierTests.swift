import GatewayAuth
import GatewayJSON
import Testing

@Suite("JWT verification")
struct TokenVerifierTests {
    @Test func validTokenOfEachAlgorithm() throws {
        let verifier = try verifierWithAllKeys()
        let keys: [SigningKey] = [.hs256(secret: TestKeys.secret), .rs256(privateKeyPEM: try TestKeys.rsa.get().privateKeyPEM),
                                  .es256(privateKeyPEM: try TestKeys.ec.get().privateKeyPEM)]
        for key in keys {
            let token = try TokenMinter.sign(claims: claims([("name", .string("Alice A."))]), with: key)
            let identity = try verifier.verify(token, now: now).get()
            #expect(identity == Identity(id: "alice", principals: ["alice"], title: "Alice A.", canPublish: false,
                                         expiresAt: now + 3600))
        }
        #expect(verifier.enabledAlgorithms == ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256"])
    }

    @Test func tamperedPayloadIsRefusedForEachAlgorithm() throws {
        let verifier = try verifierWithAllKeys()
        let forged = Base64URL.encode(claims(subject: "mallory").encoded())
        let keys: [SigningKey] = [.hs256(secret: TestKeys.secret), .rs256(privateKeyPEM: try TestKeys.rsa.get().privateKeyPEM),
                                  .es256(privateKeyPEM: try TestKeys.ec.get().privateKeyPEM)]
        for key in keys {
            let token = try TokenMinter.sign(claims: claims(), with: key)
            #expect(refusal(verifier.verify(replacingPart(token, 1, with: forged), now: now)) == "auth.bad_signature")
            // Flipping one signature character is caught as well.
            let signature = String(token.split(separator: ".")[2])
            let flipped = (signature.first == "A" ? "B" : "A") + signature.dropFirst()
            #expect(refusal(verifier.verify(replacingPart(token, 2, with: flipped), now: now)) == "auth.bad_signature")
        }
    }

    @Test func tokenSignedWithAnotherKeyIsRefused() throws {
        let verifier = try verifierWithAllKeys()
        let others: [SigningKey] = [.hs256(secret: Array("another-secret".utf8)),
                                    .rs256(privateKeyPEM: try TestKeys.otherRSA.get().privateKeyPEM),
                                    .es256(privateKeyPEM: try TestKeys.otherEC.get().privateKeyPEM)]
        for key in others {
            let token = try TokenMinter.sign(claims: claims(), with: key)
            #expect(refusal(verifier.verify(token, now: now)) == "auth.bad_signature")
        }
    }

    @Test func expiryAndNotBeforeHonourTheLeeway() throws {
        let verifier = try verifierWithAllKeys { $0.leewaySeconds = 30 }
        func token(_ extra: [(String, JSON)]) -> String {
            TokenMinterTests.hs256(claims(extra))
        }
        #expect(refusal(verifier.verify(token([("exp", .integer(now - 31))]), now: now)) == "auth.expired")
        #expect(refusal(verifier.verify(token([("exp", .integer(now - 30))]), now: now)) == "auth.expired")
        #expect(try verifier.verify(token([("exp", .integer(now - 29))]), now: now).get().expiresAt == now - 29)
        #expect(try verifier.verify(token([("exp", .number(Double(now) + 0.75))]), now: now).get().expiresAt == now)
        #expect(refusal(verifier.verify(token([("nbf", .integer(now + 31))]), now: now)) == "auth.not_yet_valid")
        #expect(try verifier.verify(token([("nbf", .integer(now + 30))]), now: now).get().id == "alice")
        #expect(refusal(verifier.verify(token([("exp", .string("tomorrow"))]), now: now)) == "auth.malformed_token")
        #expect(refusal(verifier.verify(token([("nbf", .bool(true))]), now: now)) == "auth.malformed_token")
        // No exp at all: refused by default; accepted with require_exp off, with no expiry reported.
        let noExpiry = claims()
        noExpiry.remove("exp")
        #expect(refusal(verifier.verify(TokenMinterTests.hs256(noExpiry), now: now)) == "auth.missing_exp")
        let lenient = try verifierWithAllKeys { $0.requireExp = false }
        #expect(try lenient.verify(TokenMinterTests.hs256(noExpiry), now: now).get().expiresAt == nil)
    }

    @Test func algorithmNoneAndUnknownAlgorithmsAreRefused() throws {
        let verifier = try verifierWithAllKeys()
        let payload = Base64URL.encode(claims().encoded())
        for alg in ["none", "None", "NONE", "hs256", "HS1", "RSA-OAEP", "ES256K", "Ed25519", "eddsa"] {
            let header = headerPart(#"{"alg":"\#(alg)","typ":"JWT"}"#)
            // Even with an HS256-valid signature over this input, the algorithm decides first.
            let input = header + "." + payload
            let unsigned = input + "."
            #expect(refusal(verifier.verify(unsigned, now: now)) == "auth.unsupported_algorithm", "\(alg)")
            let hs256Signed = replacingPart(TokenMinterTests.hs256(claims()), 0, with: header)
            #expect(refusal(verifier.verify(hs256Signed, now: now)) == "auth.unsupported_algorithm", "\(alg)")
        }
        let noAlg = headerPart(#"{"typ":"JWT"}"#) + "." + payload + "."
        #expect(refusal(verifier.verify(noAlg, now: now)) == "auth.malformed_token")
        let numericAlg = headerPart(#"{"alg":256}"#) + "." + payload + "."
        #expect(refusal(verifier.verify(numericAlg, now: now)) == "auth.malformed_token")
    }

    @Test func algorithmWithoutAConfiguredKeyIsRefusedNeverCrossVerified() throws {
        let rsa = try TestKeys.rsa.get()
        let hsOnly = try TokenVerifier(settings: AuthSettings(hs256Secret: TestKeys.secret))
        let rsToken = try TokenMinter.sign(claims: claims(), with: .rs256(privateKeyPEM: rsa.privateKeyPEM))
        let esToken = try TokenMinter.sign(claims: claims(), with: .es256(privateKeyPEM: try TestKeys.ec.get().privateKeyPEM))
        #expect(refusal(hsOnly.verify(rsToken, now: now)) == "auth.key_unavailable")
        #expect(refusal(hsOnly.verify(esToken, now: now)) == "auth.key_unavailable")

        // Key confusion: an attacker signs HS256 with the (public) RSA key as the HMAC secret.
        let confused = TokenMinterTests.hs256(claims(subject: "admin"), secret: Array(rsa.publicKeyPEM.utf8))
        let rsOnly = try TokenVerifier(settings: AuthSettings(rs256PublicKeyPEM: rsa.publicKeyPEM))
        #expect(refusal(rsOnly.verify(confused, now: now)) == "auth.key_unavailable")
        let both = try verifierWithAllKeys()
        #expect(refusal(both.verify(confused, now: now)) == "auth.bad_signature")
        let nothing = try TokenVerifier(settings: AuthSettings())
        #expect(refusal(nothing.verify(TokenMinterTests.hs256(claims()), now: now)) == "auth.key_unavailable")
        #expect(nothing.enabledAlgorithms.isEmpty)
    }

    @Test(arguments: [
        ("", "auth.missing_token"),
        ("abc", "auth.malformed_token"),
        ("a.b", "auth.malformed_token"),
        ("a.b.c.d", "auth.malformed_token"),
        ("..", "auth.malformed_token"),
        ("eyJhbGciOiJIUzI1NiJ9=.e30.", "auth.malformed_token"),       // padding
        ("eyJhbGciOiJIUzI1NiJ9.e30+.", "auth.malformed_token"),        // '+' is base64, not base64url
        ("eyJhbGciOiJIUzI1NiJ9.e31.", "auth.malformed_token"),         // non-zero trailing bits
        ("eyJhbGciOiJIUzI1NiJ9.e 30.", "auth.malformed_token"),        // whitespace
        ("eyJhbGciOiJIUzI1NiJ9.e30.a", "auth.malformed_token"),        // 4n+1 characters
        ("bm90IGpzb24.e30.", "auth.malformed_token"),                  // header "not json"
        ("WzFd.e30.", "auth.malformed_token"),                         // header [1]
    ])
    func malformedTokens(_ token: String, _ code: String) throws {
        let verifier = try verifierWithAllKeys()
        #expect(refusal(verifier.verify(token, now: now)) == code)
    }

    @Test func payloadThatIsNotAnObjectIsMalformedEvenWhenSigned() throws {
        let verifier = try verifierWithAllKeys()
        for payload in ["[1,2]", "\"alice\"", "{\"sub\":"] {
            let header = Base64URL.encode(#"{"alg":"HS256"}"#)
            let input = header + "." + Base64URL.encode(payload)
            let token = TokenMinterTests.hs256Raw(input)
            #expect(refusal(verifier.verify(token, now: now)) == "auth.malformed_token", "\(payload)")
        }
    }

    @Test func overlongTokenIsRefusedBeforeDecoding() throws {
        let verifier = try verifierWithAllKeys()
        let long = TokenMinterTests.hs256(claims([("padding", .string(String(repeating: "x", count: 9000)))]))
        let error = try #require(verifier.verify(long, now: now).failure)
        #expect(error.code == "auth.malformed_token")
        #expect(error.message.contains("8192"))
    }

    @Test func subjectIsRequired() throws {
        let verifier = try verifierWithAllKeys()
        #expect(refusal(verifier.verify(TokenMinterTests.hs256(claims(subject: nil)), now: now)) == "auth.missing_subject")
        #expect(refusal(verifier.verify(TokenMinterTests.hs256(claims(subject: "")), now: now)) == "auth.missing_subject")
        #expect(refusal(verifier.verify(TokenMinterTests.hs256(claims([("sub", .integer(42))], subject: nil)), now: now))
            == "auth.missing_subject")
    }

    @Test func principalsFromArrayOrSpaceSeparatedStringDeduplicated() throws {
        let verifier = try verifierWithAllKeys()
        let fromArray = TokenMinterTests.hs256(claims([("principals", .strings(["group:staff", "alice", "role:x", "group:staff"]))]))
        #expect(try verifier.verify(fromArray, now: now).get().principals == ["alice", "group:staff", "role:x"])
        let fromString = TokenMinterTests.hs256(claims([("principals", .string("  group:a  group:b alice "))]))
        #expect(try verifier.verify(fromString, now: now).get().principals == ["alice", "group:a", "group:b"])
        let mixed = TokenMinterTests.hs256(claims([("principals", .array())]))
        #expect(try verifier.verify(mixed, now: now).get().principals == ["alice"])
        let wrongType = JSON.array()
        wrongType.append(.string("ok"))
        wrongType.append(.integer(3))
        for bad in [wrongType, JSON.integer(1), JSON.object()] {
            #expect(refusal(verifier.verify(TokenMinterTests.hs256(claims([("principals", bad)])), now: now))
                == "auth.malformed_token")
        }
        // The claim name comes from the settings.
        let custom = try verifierWithAllKeys { $0.principalsClaim = "groups" }
        let token = TokenMinterTests.hs256(claims([("groups", .strings(["g1"])), ("principals", .strings(["ignored"]))]))
        #expect(try custom.verify(token, now: now).get().principals == ["alice", "g1"])
    }

    @Test func publishPermissionFromScopeClaim() throws {
        let verifier = try verifierWithAllKeys()
        let cases: [(JSON?, Bool)] = [(.string("read publish"), true), (.strings(["publish"]), true),
                                      (.string("read"), false), (.string("publisher"), false), (nil, false)]
        for (scope, expected) in cases {
            let token = TokenMinterTests.hs256(claims(scope.map { [("scope", $0)] } ?? []))
            #expect(try verifier.verify(token, now: now).get().canPublish == expected)
        }
        let custom = try verifierWithAllKeys {
            $0.publishClaim = "permissions"
            $0.publishScope = "chat:send"
        }
        let token = TokenMinterTests.hs256(claims([("permissions", .strings(["chat:send"])), ("scope", .string("read"))]))
        #expect(try custom.verify(token, now: now).get().canPublish)
        #expect(try !verifier.verify(token, now: now).get().canPublish)
    }

    @Test func criticalHeaderExtensionsAreRefused() throws {
        let verifier = try verifierWithAllKeys()
        let header = JSON.object()
        header.set("alg", "HS256")
        header.set("crit", .strings(["exp"]))
        let token = try TokenMinter.sign(claims: claims(), with: .hs256(secret: TestKeys.secret), header: header)
        #expect(refusal(verifier.verify(token, now: now)) == "auth.unsupported_header")
    }

    @Test func es256SignatureMustBeRawRAndS() throws {
        let verifier = try verifierWithAllKeys()
        let token = try TokenMinter.sign(claims: claims(), with: .es256(privateKeyPEM: try TestKeys.ec.get().privateKeyPEM))
        let signature = try #require(Base64URL.decode(Array(token.split(separator: ".")[2].utf8)))
        #expect(signature.count == 64)
        let truncated = replacingPart(token, 2, with: Base64URL.encode(signature.prefix(63)))
        #expect(refusal(verifier.verify(truncated, now: now)) == "auth.bad_signature")
        let zeros = replacingPart(token, 2, with: Base64URL.encode([UInt8](repeating: 0, count: 64)))
        #expect(refusal(verifier.verify(zeros, now: now)) == "auth.bad_signature")
    }

    @Test func concurrentVerificationSharesTheParsedKeys() async throws {
        let verifier = try verifierWithAllKeys()
        let tokens = [
            TokenMinterTests.hs256(claims()),
            try TokenMinter.sign(claims: claims(), with: .rs256(privateKeyPEM: try TestKeys.rsa.get().privateKeyPEM)),
            try TokenMinter.sign(claims: claims(), with: .es256(privateKeyPEM: try TestKeys.ec.get().privateKeyPEM)),
        ]
        let accepted = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var count = 0
                    for round in 0..<50 where (try? verifier.verify(tokens[(worker + round) % 3], now: now).get()) != nil {
                        count += 1
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(accepted == 400)
    }
}

extension TokenVerifierTests {
    /// Every single-character change to a valid token is refused with a stable code, never
    /// accepted and never a crash.
    @Test func everyOneCharacterChangeIsRefused() throws {
        let verifier = try verifierWithAllKeys()
        let keys: [SigningKey] = [.hs256(secret: TestKeys.secret), .es256(privateKeyPEM: try TestKeys.ec.get().privateKeyPEM)]
        let codes: Set = ["auth.malformed_token", "auth.bad_signature", "auth.unsupported_algorithm", "auth.key_unavailable"]
        for key in keys {
            let token = Array(try TokenMinter.sign(claims: claims(), with: key).utf8)
            for position in stride(from: 0, to: token.count, by: 3) {
                var changed = token
                changed[position] = token[position] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
                let result = verifier.verify(String(decoding: changed, as: UTF8.self), now: now)
                let code = try #require(result.failure?.code, "a changed token was accepted (position \(position))")
                #expect(codes.contains(code), "\(code) at \(position)")
            }
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
