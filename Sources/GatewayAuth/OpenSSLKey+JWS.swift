// The OpenSSL operations behind every JWS algorithm: verify with any digest and padding, HMAC
// with any digest, and public keys built from JWK parameters (RSA n/e, EC x/y, Ed25519 x).
import COpenSSL

extension OpenSSLKey {
    /// Any public key PEM ("BEGIN PUBLIC KEY"): RSA, EC or Ed25519.
    static func anyPublicKey(pem: String, label: String) throws(AuthError) -> OpenSSLKey {
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let parsed else {
            ERR_clear_error()
            throw .invalidKey("the \(label) is not a PEM public key OpenSSL can read")
        }
        return OpenSSLKey(owning: parsed)
    }

    /// EVP_DigestVerify: `digest` nil for EdDSA; `pss` selects RSASSA-PSS with a salt as long
    /// as the digest (RFC 7518 §3.5), otherwise PKCS#1 v1.5 for RSA and DER ECDSA for EC.
    func verify(digest: OpaquePointer?, pss: Bool, message: UnsafeRawBufferPointer, signature: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        var keyContext: OpaquePointer?
        var verified = EVP_DigestVerifyInit(context, &keyContext, digest, nil, pointer) == 1
        if verified, pss {
            verified = EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) == 1
        }
        verified = verified && signature.withUnsafeBufferPointer { signatureBytes in
            EVP_DigestVerify(context, signatureBytes.baseAddress, signatureBytes.count,
                             message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1
        }
        // A failed verify leaves entries on this thread's OpenSSL error queue; drop them.
        if !verified { ERR_clear_error() }
        return verified
    }

    // The builder keeps the pointers it is given (BIGNUMs, buffers) until OSSL_PARAM_BLD_to_param
    // copies them, so each `push` closure converts to parameters while its buffers are alive.

    static func rsaPublicKey(modulus: [UInt8], exponent: [UInt8], label: String) throws(AuthError) -> OpenSSLKey {
        try fromParameters(type: "RSA", label: label) { builder in
            let n = BN_bin2bn(modulus, Int32(modulus.count), nil)
            let e = BN_bin2bn(exponent, Int32(exponent.count), nil)
            defer { BN_free(n); BN_free(e) }
            guard OSSL_PARAM_BLD_push_BN(builder, gw_param_rsa_n, n) == 1,
                  OSSL_PARAM_BLD_push_BN(builder, gw_param_rsa_e, e) == 1 else { return nil }
            return OSSL_PARAM_BLD_to_param(builder)
        }
    }

    static func ecPublicKey(curve: String, x: [UInt8], y: [UInt8], label: String) throws(AuthError) -> OpenSSLKey {
        // The uncompressed point: 0x04 || X || Y.
        let point: [UInt8] = [0x04] + x + y
        return try fromParameters(type: "EC", label: label) { builder in
            curve.withCString { curveName in
                point.withUnsafeBufferPointer { pointBytes in
                    guard OSSL_PARAM_BLD_push_utf8_string(builder, gw_param_group_name, curveName, 0) == 1,
                          OSSL_PARAM_BLD_push_octet_string(builder, gw_param_pub_key, pointBytes.baseAddress,
                                                           pointBytes.count) == 1 else { return nil }
                    return OSSL_PARAM_BLD_to_param(builder)
                }
            }
        }
    }

    static func ed25519PublicKey(_ raw: [UInt8], label: String) throws(AuthError) -> OpenSSLKey {
        guard raw.count == 32, let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            ERR_clear_error()
            throw .invalidKey("the \(label) is not a 32-byte Ed25519 public key")
        }
        return OpenSSLKey(owning: key)
    }

    private static func fromParameters(type: String, label: String,
                                       _ build: (OpaquePointer?) -> UnsafeMutablePointer<OSSL_PARAM>?) throws(AuthError) -> OpenSSLKey {
        guard let builder = OSSL_PARAM_BLD_new() else { throw .cryptoFailure("OSSL_PARAM_BLD_new failed") }
        defer { OSSL_PARAM_BLD_free(builder) }
        guard let parameters = build(builder) else {
            ERR_clear_error()
            throw .invalidKey("the \(label) has parameters OpenSSL refuses")
        }
        defer { OSSL_PARAM_free(parameters) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else { throw .cryptoFailure("no \(type) key support") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &key, gw_evp_pkey_public_key_selection(), parameters) == 1, let key else {
            ERR_clear_error()
            throw .invalidKey("the \(label) is not a valid \(type) public key")
        }
        let built = OpenSSLKey(owning: key)
        if type == "EC" {
            // fromdata does not check that the point is on the curve; a public-key check does.
            guard let check = EVP_PKEY_CTX_new(key, nil) else { throw .cryptoFailure("EVP_PKEY_CTX_new failed") }
            defer { EVP_PKEY_CTX_free(check) }
            guard EVP_PKEY_public_check(check) == 1 else {
                ERR_clear_error()
                throw .invalidKey("the \(label) is not a point on its curve")
            }
        }
        return built
    }
}

extension Crypto {
    static func hmac(_ digest: OpaquePointer, key: [UInt8], message: UnsafeRawBufferPointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let keyBytes = key.isEmpty ? [0] : key
        keyBytes.withUnsafeBytes { keyRaw in
            _ = HMAC(digest, keyRaw.baseAddress, Int32(key.count),
                     message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count, &output, &length)
        }
        return Array(output.prefix(Int(length)))
    }

    /// R||S with `coordinateBytes` each (32 for ES256, 48 for ES384, 66 for ES512) → DER.
    static func derECDSASignature(fromRaw raw: [UInt8], coordinateBytes: Int) -> [UInt8]? {
        guard raw.count == 2 * coordinateBytes, let signature = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(signature) }
        let (r, s) = raw.withUnsafeBufferPointer { bytes in
            (BN_bin2bn(bytes.baseAddress, Int32(coordinateBytes), nil),
             BN_bin2bn(bytes.baseAddress! + coordinateBytes, Int32(coordinateBytes), nil))
        }
        guard let r, let s, ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        let length = i2d_ECDSA_SIG(signature, nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_ECDSA_SIG(signature, &cursor)
        }
        return written == length ? der : nil
    }
}
