// libFuzzer target: the JWT parser and verifier of GatewayAuth (scripts/fuzz.sh FuzzJWT).
//
// The first input byte picks what the rest is:
//   0  a whole token, verified as a WebSocket upgrade or an HTTP publish would verify it;
//   1  header JSON, a NUL byte, payload JSON: both encoded and signed with the verifier's HS256
//      secret, so the fuzzer reaches the header and claim checks behind the signature;
//   2  payload JSON alone, with a correct HS256 header, signed the same way;
//   3  a JWKS document (RFC 7517), loaded as SIGHUP reloads `[auth] jwks_file`.
// Bit 0x80 picks a verifier without `require_exp`. The promise checked: an identity that holds
// what the token said, or an `auth.*` refusal — never a crash.
import Foundation
@testable import GatewayAuth
import GatewayJSON

/// The secret the seeds in Fuzz/Corpus/FuzzJWT are signed with.
let secret = Array("fuzz-secret-0123456789".utf8)
/// A fixed clock: the seeds carry `exp` after it, so verdicts do not change with the date.
let now = 1_800_000_000

func makeVerifier(requireExp: Bool) -> TokenVerifier {
    var settings = AuthSettings(hs256Secret: secret)
    settings.requireExp = requireExp
    settings.rejectClaims = [ClaimRule("obj=refresh")!]
    settings.requireClaims = [ClaimRule("sub")!]
    settings.keptClaims = ["email"]
    return try! TokenVerifier(settings: settings)
}
let strict = makeVerifier(requireExp: true)
let lenient = makeVerifier(requireExp: false)

func check(_ result: Result<Identity, AuthError>, requireExp: Bool) {
    switch result {
    case .success(let identity):
        precondition(!identity.id.isEmpty, "an identity without a subject")
        precondition(identity.principals.first == identity.id, "the subject is not the first principal")
        precondition(Set(identity.principals).count == identity.principals.count, "duplicate principals")
        if requireExp {
            guard let expiresAt = identity.expiresAt else { preconditionFailure("accepted without exp under require_exp") }
            precondition(now - 30 < expiresAt, "accepted an expired token")
        }
    case .failure(let error):
        precondition(error.code.hasPrefix("auth."), "unstable error code '\(error.code)'")
    }
}

func signed(header: [UInt8], payload: [UInt8]) -> String {
    let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
    return try! TokenMinter.sign(signingInput: input, with: .hs256(secret: secret))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let selector = data[0]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let requireExp = selector & 0x80 == 0
    let verifier = requireExp ? strict : lenient
    switch selector & 0x03 {
    case 0:
        check(verifier.verify(String(decoding: rest, as: UTF8.self), now: now), requireExp: requireExp)
    case 1:
        let nul = rest.firstIndex(of: 0) ?? rest.endIndex
        let payload = nul < rest.endIndex ? Array(rest[(nul + 1)...]) : []
        check(verifier.verify(signed(header: Array(rest[..<nul]), payload: payload), now: now), requireExp: requireExp)
    case 2:
        let header = Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)
        check(verifier.verify(signed(header: header, payload: rest), now: now), requireExp: requireExp)
    default:
        let reloading = makeVerifier(requireExp: requireExp)
        do {
            try reloading.reloadJWKS(String(decoding: rest, as: UTF8.self))
            _ = reloading.enabledAlgorithms
        } catch {
            precondition(error.code.hasPrefix("auth."), "unstable error code '\(error.code)'")
        }
    }
    return 0
}
