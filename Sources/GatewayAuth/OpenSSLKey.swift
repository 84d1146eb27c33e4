// The few OpenSSL (libcrypto 3) operations JWTs need, each freeing what it allocates.
// A key is parsed once and then only read: OpenSSL 3 allows one EVP_PKEY to be used by several
// threads at once as long as each call has its own EVP_MD_CTX, which every function here creates.
import COpenSSL

// @unchecked: the EVP_PKEY is only read after parsing, which OpenSSL 3 allows from several threads (above).
final class OpenSSLKey: @unchecked Sendable {
    enum Kind { case rsa, ecP256 }

    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    static func publicKey(pem: String, expecting kind: Kind, label: String) throws(AuthError) -> OpenSSLKey {
        let key = try read(pem: pem, label: label) { bio in PEM_read_bio_PUBKEY(bio, nil, nil, nil) }
        try key.check(kind, label: label)
        return key
    }

    static func privateKey(pem: String, expecting kind: Kind, label: String) throws(AuthError) -> OpenSSLKey {
        let key = try read(pem: pem, label: label) { bio in PEM_read_bio_PrivateKey(bio, nil, nil, nil) }
        try key.check(kind, label: label)
        return key
    }

    private static func read(pem: String, label: String,
                             _ reader: (OpaquePointer) -> OpaquePointer?) throws(AuthError) -> OpenSSLKey {
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return reader(bio)
        }
        guard let parsed else {
            ERR_clear_error()
            throw .invalidKey("the \(label) is not a PEM key OpenSSL can read")
        }
        return OpenSSLKey(owning: parsed)
    }

    private func check(_ kind: Kind, label: String) throws(AuthError) {
        switch kind {
        case .rsa:
            guard EVP_PKEY_get_base_id(pointer) == EVP_PKEY_RSA else { throw .invalidKey("the \(label) is not an RSA key") }
            // RFC 7518 §3.3: RS256 keys must be at least 2048 bits.
            guard EVP_PKEY_get_bits(pointer) >= 2048 else { throw .invalidKey("the \(label) is shorter than 2048 bits") }
        case .ecP256:
            guard EVP_PKEY_get_base_id(pointer) == EVP_PKEY_EC else { throw .invalidKey("the \(label) is not an EC key") }
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1,
                  String(cString: name) == "prime256v1" else {
                ERR_clear_error()
                throw .invalidKey("the \(label) is not on the P-256 curve that ES256 requires")
            }
        }
    }

    /// EVP_DigestVerify with SHA-256 (PKCS#1 v1.5 for RSA, DER ECDSA for EC).
    func verifySHA256(message: UnsafeRawBufferPointer, signature: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        let verified = EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, pointer) == 1
            && signature.withUnsafeBufferPointer { signatureBytes in
                EVP_DigestVerify(context, signatureBytes.baseAddress, signatureBytes.count,
                                 message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1
            }
        // A failed verify leaves entries on this thread's OpenSSL error queue; drop them so the
        // queue does not grow with every refused token.
        if !verified { ERR_clear_error() }
        return verified
    }

    /// EVP_DigestSign with SHA-256; the signature as OpenSSL produces it (DER for EC).
    func signSHA256(message: [UInt8]) throws(AuthError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw .cryptoFailure("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        var length = 0
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, pointer) == 1,
              EVP_DigestSign(context, nil, &length, message, message.count) == 1 else {
            ERR_clear_error()
            throw .cryptoFailure("EVP_DigestSign could not start")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            ERR_clear_error()
            throw .cryptoFailure("EVP_DigestSign failed")
        }
        return Array(signature.prefix(length))
    }
}

enum Crypto {
    static func hmacSHA256(key: [UInt8], message: UnsafeRawBufferPointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // An empty key is legal HMAC; give OpenSSL a valid pointer even then.
        let keyBytes = key.isEmpty ? [0] : key
        keyBytes.withUnsafeBytes { keyRaw in
            _ = HMAC(EVP_sha256(), keyRaw.baseAddress, Int32(key.count),
                     message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, &output, &length)
        }
        return Array(output.prefix(Int(length)))
    }

    /// Compares in time that does not depend on where the inputs differ.
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count, !lhs.isEmpty else { return false }
        return CRYPTO_memcmp(lhs, rhs, lhs.count) == 0
    }

    static func rawECDSASignature(fromDER der: [UInt8]) -> [UInt8]? {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
        }
        guard let parsed else { return nil }
        defer { ECDSA_SIG_free(parsed) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(parsed, &r, &s)
        var raw = [UInt8](repeating: 0, count: 64)
        let ok = raw.withUnsafeMutableBufferPointer { buffer in
            BN_bn2binpad(r, buffer.baseAddress, 32) == 32 && BN_bn2binpad(s, buffer.baseAddress! + 32, 32) == 32
        }
        return ok ? raw : nil
    }
}
