// JWT (JWS compact) verification on the connection-upgrade hot path.
//
// Order of checks, cheapest and safest first: size, shape, strict base64url of every part, the
// header's `alg` chooses the ONE key configured for that algorithm (an RS256 token is never
// checked with the HS256 secret: that is the classic key-confusion attack), the signature, and
// only then the payload JSON and its claims. Keys are parsed once, in init.
import CJansson
import GatewayJSON

public final class TokenVerifier: @unchecked Sendable {
    /// Tokens longer than this are refused before any decoding (a header or query string this
    /// long is an attack or a mistake).
    public static let maximumTokenBytes = 8192

    private let settings: AuthSettings
    private let hs256Secret: [UInt8]?
    private let rs256Key: OpenSSLKey?
    private let es256Key: OpenSSLKey?

    public init(settings: AuthSettings) throws(AuthError) {
        if let secret = settings.hs256Secret, secret.isEmpty { throw .invalidKey("the HS256 secret is empty") }
        self.settings = settings
        self.hs256Secret = settings.hs256Secret
        if let pem = settings.rs256PublicKeyPEM {
            self.rs256Key = try OpenSSLKey.publicKey(pem: pem, expecting: .rsa, label: "RS256 public key")
        } else {
            self.rs256Key = nil
        }
        if let pem = settings.es256PublicKeyPEM {
            self.es256Key = try OpenSSLKey.publicKey(pem: pem, expecting: .ecP256, label: "ES256 public key")
        } else {
            self.es256Key = nil
        }
    }

    /// The algorithms this verifier has keys for, e.g. for a startup log line.
    public var enabledAlgorithms: [String] {
        [hs256Secret != nil ? "HS256" : nil, rs256Key != nil ? "RS256" : nil, es256Key != nil ? "ES256" : nil]
            .compactMap { $0 }
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
        guard let algorithm = header.view["alg"].string else { throw .malformed("the header has no 'alg' string") }
        if header.view["crit"].exists {
            throw .unsupportedHeader("the header lists critical extensions ('crit'), which this gateway does not implement")
        }
        try checkSignature(algorithm: algorithm, signature: signature,
                           signingInput: UnsafeRawBufferPointer(part(0..<dots[1])))
        let claims = try parseObject(payloadBytes, part: "payload")
        return try identity(from: claims.view, now: now)
    }

    private func checkSignature(algorithm: String, signature: [UInt8], signingInput: UnsafeRawBufferPointer) throws(AuthError) {
        let verified: Bool
        switch algorithm {
        case "HS256":
            guard let hs256Secret else { throw .keyUnavailable(algorithm) }
            verified = Crypto.constantTimeEqual(Crypto.hmacSHA256(key: hs256Secret, message: signingInput), signature)
        case "RS256":
            guard let rs256Key else { throw .keyUnavailable(algorithm) }
            verified = rs256Key.verifySHA256(message: signingInput, signature: signature)
        case "ES256":
            guard let es256Key else { throw .keyUnavailable(algorithm) }
            guard let der = Crypto.derECDSASignature(fromRaw: signature) else { throw .badSignature() }
            verified = es256Key.verifySHA256(message: signingInput, signature: der)
        default:
            throw .unsupportedAlgorithm(algorithm)
        }
        guard verified else { throw .badSignature() }
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
        if let expiresAt, now - leeway >= expiresAt { throw .expired(expiresAt, now: now) }
        if let notBefore = try timeClaim(claims, "nbf"), now + leeway < notBefore { throw .notYetValid(notBefore, now: now) }
        guard let subject = claims["sub"].string, !subject.isEmpty else { throw .missingSubject() }

        var principals = [subject]
        var seen: Set<String> = [subject]
        for principal in try words(claims, settings.principalsClaim) where seen.insert(principal).inserted {
            principals.append(principal)
        }
        let canPublish = try words(claims, settings.publishClaim).contains(settings.publishScope)
        return Identity(id: subject, principals: principals, title: claims[settings.titleClaim].string,
                        canPublish: canPublish, expiresAt: expiresAt)
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
