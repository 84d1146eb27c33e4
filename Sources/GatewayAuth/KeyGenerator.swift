// Fresh RS256 / ES256 key pairs as PEM text: for tests, and for operators who want a key pair
// without reaching for the openssl command line.
import COpenSSL

public enum KeyGenerator {
    public static func rs256(bits: Int = 2048) throws(AuthError) -> (privateKeyPEM: String, publicKeyPEM: String) {
        let key = try generate(EVP_PKEY_RSA) { EVP_PKEY_CTX_set_rsa_keygen_bits($0, Int32(bits)) }
        return (try pem(key, PEM_write_bio_PrivateKeyDefault), try pem(key) { PEM_write_bio_PUBKEY($0, $1) })
    }

    public static func es256() throws(AuthError) -> (privateKeyPEM: String, publicKeyPEM: String) {
        let key = try generate(EVP_PKEY_EC) { EVP_PKEY_CTX_set_ec_paramgen_curve_nid($0, NID_X9_62_prime256v1) }
        return (try pem(key, PEM_write_bio_PrivateKeyDefault), try pem(key) { PEM_write_bio_PUBKEY($0, $1) })
    }

    private static func PEM_write_bio_PrivateKeyDefault(_ bio: OpaquePointer, _ key: OpaquePointer) -> Int32 {
        PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil)
    }

    private static func generate(_ type: Int32, configure: (OpaquePointer) -> Int32) throws(AuthError) -> OpenSSLKey {
        guard let context = EVP_PKEY_CTX_new_id(type, nil) else { throw .cryptoFailure("EVP_PKEY_CTX_new_id failed") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, configure(context) == 1, EVP_PKEY_keygen(context, &key) == 1,
              let key else {
            ERR_clear_error()
            throw .cryptoFailure("key generation failed")
        }
        return OpenSSLKey(owning: key)
    }

    private static func pem(_ key: OpenSSLKey, _ write: (OpaquePointer, OpaquePointer) -> Int32) throws(AuthError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw .cryptoFailure("BIO_new failed") }
        defer { BIO_free(bio) }
        guard write(bio, key.pointer) == 1 else {
            ERR_clear_error()
            throw .cryptoFailure("writing the PEM failed")
        }
        let length = Int(BIO_ctrl_pending(bio))
        var text = [UInt8](repeating: 0, count: length)
        guard BIO_read(bio, &text, Int32(length)) == Int32(length) else { throw .cryptoFailure("reading the PEM failed") }
        return String(decoding: text, as: UTF8.self)
    }
}
