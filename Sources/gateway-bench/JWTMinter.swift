import COpenSSL
import Foundation

/// Mints HS256 JSON Web Tokens for the gateway. The bench mints its own tokens so a run needs
/// nothing but the shared secret (the gateway's development secret by default).
struct JWTMinter {
    static let developmentSecret = "chat-gateway-development-secret-change-me"

    let secret: [UInt8]

    init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    /// - Parameters:
    ///   - subject: the `sub` claim (the sender never receives its own event, so the publisher
    ///     and the subscribers must use different subjects).
    ///   - principals: the `principals` claim; events targeted at any of them are delivered.
    ///   - canPublish: adds `scope: "publish"`.
    func token(subject: String, principals: [String], canPublish: Bool = false, lifetimeSeconds: Int = 86_400) -> String {
        let expiry = Int(time(nil)) + lifetimeSeconds
        let principalList = principals.map { "\"\(Self.escape($0))\"" }.joined(separator: ",")
        var claims = "{\"sub\":\"\(Self.escape(subject))\",\"exp\":\(expiry),\"principals\":[\(principalList)]"
        if canPublish { claims += ",\"scope\":\"publish\"" }
        claims += "}"
        let header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
        let signingInput = Self.base64URL(Array(header.utf8)) + "." + Self.base64URL(Array(claims.utf8))
        return signingInput + "." + Self.base64URL(hmacSHA256(Array(signingInput.utf8)))
    }

    func hmacSHA256(_ message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var digestLength: UInt32 = 0
        secret.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { data in
                _ = HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), data.baseAddress, data.count, &digest, &digestLength)
            }
        }
        return Array(digest.prefix(Int(digestLength)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Base64.encode(bytes, alphabet: Base64.urlAlphabet, padded: false)
    }

    /// Subjects and principals are bench-generated ASCII; escaping quotes and backslashes is enough.
    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
