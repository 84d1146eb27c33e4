// JWT (JWS compact) verification on the connection-upgrade hot path.
//
// Order of checks, cheapest and safest first: size, shape, strict base64url of every part, the
// header's `alg` must be one of JWTAlgorithm's, the key is chosen by `kid` (JWKS) or among the
// configured keys whose type fits that algorithm (an RS256 token is never checked with the HMAC
// secret: that is the classic key-confusion attack), the signature, and only then the payload
// JSON and its claims. Keys are parsed once, in init; the JWKS again on `reloadJWKS`.
import CJansson
import Foundation
import GatewayJSON
import Synchronization

public final class TokenVerifier: Sendable {
    /// Tokens longer than this are refused before any decoding (a header or query string this
    /// long is an attack or a mistake).
    public static let maximumTokenBytes = 8192

    private let settings: AuthSettings
    /// The secret and PEM keys of gateway.conf: fixed for the life of the process.
    private let configuredKeys: [VerificationKey]
    /// The JWKS file's keys: replaced whole on reload (SIGHUP).
    private let jwksKeys = KeyList()

    public init(settings: AuthSettings) throws(AuthError) {
        if let secret = settings.hs256Secret, secret.isEmpty { throw .invalidKey("the HS256 secret is empty") }
        self.settings = settings
        var keys: [VerificationKey] = []
        if let secret = settings.hs256Secret { keys.append(VerificationKey(secret: secret)) }
        if let pem = settings.rs256PublicKeyPEM {
            let key = try OpenSSLKey.publicKey(pem: pem, expecting: .rsa, label: "RS256 public key")
            keys.append(try VerificationKey(publicKey: key, label: "RS256 public key"))
        }
        if let pem = settings.es256PublicKeyPEM {
            let key = try OpenSSLKey.publicKey(pem: pem, expecting: .ecP256, label: "ES256 public key")
            keys.append(try VerificationKey(publicKey: key, label: "ES256 public key"))
        }
        for (index, pem) in settings.publicKeyPEMs.enumerated() {
            let label = "public key \(index + 1) of public_key_files"
            keys.append(try VerificationKey(publicKey: try OpenSSLKey.anyPublicKey(pem: pem, label: label), label: label))
        }
        configuredKeys = keys
        if let jwks = settings.jwks { try reloadJWKS(jwks) }
    }

    /// Replaces the JWKS keys (SIGHUP). A JWKS that does not parse leaves the old keys in force.
    public func reloadJWKS(_ text: String) throws(AuthError) {
        jwksKeys.replace(with: try JWKS.keys(from: text))
    }

    /// The algorithms this verifier has keys for, e.g. for a startup log line.
    public var enabledAlgorithms: [String] {
        let keys = configuredKeys + jwksKeys.current
        return JWTAlgorithm.allCases.filter { algorithm in keys.contains { $0.accepts(algorithm) } }.map(\.rawValue)
    }

    /// Verifies `token` at `now` (unix seconds).
    public func verify(_ token: String, now: Int) -> Result<Identity, AuthError> {
        var token = token
        // Native strings are contiguous UTF-8, so this borrows the bytes without copying.
        return token.withUTF8 { bytes in
            do throws(AuthError) {
                return .success(try identity(of: bytes, now: now))
            } catch {
                return .failure(error)
            }
        }
    }

    private func identity(of token: UnsafeBufferPointer<UInt8>, now: Int) throws(AuthError) -> Identity {
        guard !token.isEmpty else { throw .missingToken() }
        guard token.count <= Self.maximumTokenBytes else {
            throw .malformed("the token is longer than \(Self.maximumTokenBytes) bytes")
        }
        var dots: [Int] = []
        for position in 0..<token.count where token[position] == UInt8(ascii: ".") {
            dots.append(position)
            if dots.count > 2 { break }
        }
        guard dots.count == 2 else { throw .malformed("a JWT has three dot-separated parts, this has \(dots.count + 1)") }
        func part(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: token[range]) }
        guard let headerBytes = Base64URL.decode(buffer: part(0..<dots[0])), !headerBytes.isEmpty else {
            throw .malformed("the header is not base64url")
        }
        guard let payloadBytes = Base64URL.decode(buffer: part((dots[0] + 1)..<dots[1])), !payloadBytes.isEmpty else {
            throw .malformed("the payload is not base64url")
        }
        guard let signature = Base64URL.decode(buffer: part((dots[1] + 1)..<token.count)) else {
            throw .malformed("the signature is not base64url")
        }
        let header = try parseObject(headerBytes, part: "header")
        guard let name = header.view["alg"].string else { throw .malformed("the header has no 'alg' string") }
        guard let algorithm = JWTAlgorithm(rawValue: name) else { throw .unsupportedAlgorithm(name) }
        if header.view["crit"].exists {
            throw .unsupportedHeader("the header lists critical extensions ('crit'), which this gateway does not implement")
        }
        let keyId = header.view["kid"]
        if keyId.exists && keyId.string == nil { throw .malformed("the header's 'kid' must be a string") }
        try checkSignature(algorithm: algorithm, keyId: keyId.string, signature: signature,
                           signingInput: UnsafeRawBufferPointer(part(0..<dots[1])))
        let claims = try parseObject(payloadBytes, part: "payload")
        return try identity(from: claims.view, now: now)
    }

    /// A `kid` chooses that JWKS key alone; without one, every key whose type fits `alg` is
    /// tried (a handful at most: the configured keys and the JWKS).
    private func checkSignature(algorithm: JWTAlgorithm, keyId: String?, signature: [UInt8],
                                signingInput: UnsafeRawBufferPointer) throws(AuthError) {
        let candidates: [VerificationKey]
        if let keyId {
            let named = jwksKeys.current.filter { $0.keyId == keyId }
            guard !named.isEmpty else { throw .unknownKeyId(keyId) }
            candidates = named.filter { $0.accepts(algorithm) }
            guard !candidates.isEmpty else { throw .keyAlgorithmMismatch(keyId: keyId, algorithm: algorithm.rawValue) }
        } else {
            candidates = (configuredKeys + jwksKeys.current).filter { $0.accepts(algorithm) }
            guard !candidates.isEmpty else { throw .keyUnavailable(algorithm.rawValue) }
        }
        guard candidates.contains(where: { $0.verify(algorithm, signingInput: signingInput, signature: signature) }) else {
            throw .badSignature()
        }
    }

    private func parseObject(_ bytes: [UInt8], part: String) throws(AuthError) -> JSON {
        let parsed: JSON
        do throws(JSONError) {
            parsed = try JSON.parse(bytes)
        } catch {
            throw .malformed("the \(part) is not JSON: \(error.message)")
        }
        guard parsed.view.isObject else { throw .malformed("the \(part) is not a JSON object") }
        return parsed
    }

    private func identity(from claims: JSONView, now: Int) throws(AuthError) -> Identity {
        let leeway = settings.leewaySeconds
        let expiresAt = try timeClaim(claims, "exp")
        if expiresAt == nil && settings.requireExp { throw .missingExpiry() }
        if let expiresAt, now - leeway >= expiresAt { throw .expired(expiresAt, now: now) }
        if let notBefore = try timeClaim(claims, "nbf"), now + leeway < notBefore { throw .notYetValid(notBefore, now: now) }
        guard let subject = claims["sub"].string, !subject.isEmpty else { throw .missingSubject() }
        for rule in settings.rejectClaims where rule.matches(claims) { throw .claimRejected(rule) }
        for rule in settings.requireClaims where !rule.matches(claims) { throw .claimRequired(rule) }

        var principals = [subject]
        var seen: Set<String> = [subject]
        for principal in try words(claims, settings.principalsClaim) where seen.insert(principal).inserted {
            principals.append(principal)
        }
        let canPublish = try words(claims, settings.publishClaim).contains(settings.publishScope)
        var kept: [String: String] = [:]
        for name in settings.keptClaims {
            if let value = claims[name].string, !value.isEmpty { kept[name] = value }
        }
        let isAdmin = try words(claims, settings.adminClaim).contains(settings.adminScope)
        // Present but empty is "no host at all" (fail closed), not "any host".
        var hosts: [String]?
        if let claim = settings.hostsClaim, claims[claim].kind != .missing, !claims[claim].isNull {
            hosts = try words(claims, claim)
        }
        return Identity(id: subject, principals: principals, title: claims[settings.titleClaim].string,
                        canPublish: canPublish, expiresAt: expiresAt, keptClaims: kept, isAdmin: isAdmin, hosts: hosts)
    }

    /// NumericDate (RFC 7519 §2): seconds, possibly fractional; a fraction is cut off.
    private func timeClaim(_ claims: JSONView, _ name: String) throws(AuthError) -> Int? {
        let value = claims[name]
        switch value.kind {
        case .missing, .null: return nil
        case .integer: return value.int
        case .real:
            guard let seconds = value.double, seconds.isFinite, abs(seconds) < 1e15 else {
                throw .malformed("the '\(name)' claim is not a usable time")
            }
            return Int(seconds.rounded(.down))
        default: throw .malformed("the '\(name)' claim must be a number of seconds")
        }
    }

    /// A claim given as an array of strings or one space-separated string (OAuth `scope` style).
    private func words(_ claims: JSONView, _ name: String) throws(AuthError) -> [String] {
        let value = claims[name]
        switch value.kind {
        case .missing, .null: return []
        case .string: return value.string!.split(separator: " ").map(String.init)
        case .array:
            guard let strings = value.strings else { throw .malformed("the '\(name)' claim must contain only strings") }
            return strings
        default: throw .malformed("the '\(name)' claim must be an array of strings or a space-separated string")
        }
    }
}

/// The JWKS keys in force; read on every verification, replaced whole on reload.
final class KeyList: Sendable {
    private let keys = Mutex<[VerificationKey]>([])

    var current: [VerificationKey] { keys.withLock { $0 } }
    func replace(with new: [VerificationKey]) { keys.withLock { $0 = new } }
}

/// `[auth] require_claims` / `reject_claims` entries: "name" (present) or "name=value" (the
/// claim's string, number or boolean, written as text, equals value; for an array claim, one
/// of its elements does).
public struct ClaimRule: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    public let value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }

    /// "obj=refresh" → (obj, refresh); "jti" → (jti, nil).
    public init?(_ text: String) {
        let parts = text.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else { return nil }
        name = String(first)
        value = parts.count == 2 ? String(parts[1]) : nil
    }

    public var description: String { value.map { "\(name)=\($0)" } ?? name }

    func matches(_ claims: JSONView) -> Bool {
        let claim = claims[name]
        guard claim.exists, !claim.isNull else { return false }
        guard let value else { return true }
        if claim.isArray { return claim.elements.contains { Self.text(of: $0) == value } }
        return Self.text(of: claim) == value
    }

    private static func text(of value: JSONView) -> String? {
        switch value.kind {
        case .string: return value.string
        case .integer: return value.int.map(String.init)
        case .bool: return value.bool.map { $0 ? "true" : "false" }
        case .real: return value.double.map { String($0) }
        default: return nil
        }
    }
}
