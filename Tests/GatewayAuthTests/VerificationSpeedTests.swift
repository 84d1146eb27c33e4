import GatewayAuth
import GatewayJSON
import Testing

/// Verification runs on every connection upgrade. These bounds are loose (debug build, shared
/// 2-core machine) and exist to catch a regression by an order of magnitude, such as parsing a
/// PEM key per call; the measured rates are printed for the record.
@Suite("JWT verification speed")
struct VerificationSpeedTests {
    func rate(_ verifier: TokenVerifier, _ token: String, count: Int) throws -> Double {
        let clock = ContinuousClock()
        var accepted = 0
        let elapsed = clock.measure {
            for _ in 0..<count where (try? verifier.verify(token, now: now).get()) != nil { accepted += 1 }
        }
        #expect(accepted == count)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(count) / max(seconds, 1e-9)
    }

    @Test func verificationRatesPerAlgorithm() throws {
        let verifier = try verifierWithAllKeys()
        let tokenClaims = claims([("principals", .strings(["group:staff", "role:editor"])), ("scope", .string("publish"))])
        let hs = try TokenMinter.sign(claims: tokenClaims, with: .hs256(secret: TestKeys.secret))
        let rs = try TokenMinter.sign(claims: tokenClaims, with: .rs256(privateKeyPEM: try TestKeys.rsa.get().privateKeyPEM))
        let es = try TokenMinter.sign(claims: tokenClaims, with: .es256(privateKeyPEM: try TestKeys.ec.get().privateKeyPEM))
        let hsRate = try rate(verifier, hs, count: 4000)
        let rsRate = try rate(verifier, rs, count: 1000)
        let esRate = try rate(verifier, es, count: 1000)
        print("verifications/s (debug build): HS256 \(Int(hsRate)), RS256 \(Int(rsRate)), ES256 \(Int(esRate))")
        // Printed, not asserted: speed belongs to the benchmark, not to a timed test. What is
        // asserted (in `rate`) is that every one of these tokens verifies.
    }
}
