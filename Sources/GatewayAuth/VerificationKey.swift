// One key the verifier may use: an HMAC secret or a public key, with the JWKS `kid` and `alg`
// it was published with. The key's own type decides which algorithms it can verify, so the
// header's `alg` can only choose among keys of the right family.
import COpenSSL

public final class VerificationKey: Sendable {
    enum Material {
        case secret([UInt8])
        case publicKey(OpenSSLKey)
    }

    let material: Material
    /// JWKS `kid`; tokens naming a kid are checked with that key only.
    public let keyId: String?
    /// JWKS `alg`, when the key set pins one.
    let pinnedAlgorithm: JWTAlgorithm?
    /// What kind of key this is, for the algorithm check and for logs.
    let family: KeyFamily

    enum KeyFamily: Equatable, CustomStringConvertible {
        case secret, rsa, ec(curve: String), ed25519

        var description: String {
            switch self {
            case .secret: return "HMAC secret"
            case .rsa: return "RSA key"
            case .ec(let curve): return "EC key (\(curve))"
            case .ed25519: return "Ed25519 key"
            }
        }
    }

    init(secret: [UInt8], keyId: String? = nil, algorithm: JWTAlgorithm? = nil) {
        material = .secret(secret)
        self.keyId = keyId
        pinnedAlgorithm = algorithm
        family = .secret
    }

    /// A public key of any supported type; the label names it in errors.
    init(publicKey: OpenSSLKey, keyId: String? = nil, algorithm: JWTAlgorithm? = nil, label: String) throws(AuthError) {
        material = .publicKey(publicKey)
        self.keyId = keyId
        pinnedAlgorithm = algorithm
        switch EVP_PKEY_get_base_id(publicKey.pointer) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS:
            // RFC 7518 §3.3: RSA keys for JWS must be at least 2048 bits.
            guard EVP_PKEY_get_bits(publicKey.pointer) >= 2048 else { throw .invalidKey("the \(label) is shorter than 2048 bits") }
            family = .rsa
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(publicKey.pointer, &name, name.count, &length) == 1 else {
                ERR_clear_error()
                throw .invalidKey("the \(label) is an EC key without a named curve")
            }
            family = .ec(curve: String(cString: name))
        case EVP_PKEY_ED25519:
            family = .ed25519
        default:
            throw .invalidKey("the \(label) is neither RSA, EC (P-256/384/521) nor Ed25519")
        }
        if let algorithm, !Self.family(family, verifies: algorithm) {
            throw .invalidKey("the \(label) is an \(family) and cannot verify \(algorithm.rawValue)")
        }
    }

    /// True when this key may check a token signed with `algorithm`.
    func accepts(_ algorithm: JWTAlgorithm) -> Bool {
        if let pinnedAlgorithm, pinnedAlgorithm != algorithm { return false }
        return Self.family(family, verifies: algorithm)
    }

    private static func family(_ family: KeyFamily, verifies algorithm: JWTAlgorithm) -> Bool {
        switch (family, algorithm.family) {
        case (.secret, .hmac), (.rsa, .rsaPKCS1), (.rsa, .rsaPSS), (.ed25519, .edDSA): return true
        case (.ec(let curve), .ecdsa(let wanted, _)): return curve == wanted
        default: return false
        }
    }

    /// Checks `signature` over `signingInput` (header.payload) with `algorithm`, which the
    /// caller has matched with `accepts`.
    func verify(_ algorithm: JWTAlgorithm, signingInput: UnsafeRawBufferPointer, signature: [UInt8]) -> Bool {
        switch (material, algorithm.family) {
        case (.secret(let secret), .hmac):
            return Crypto.constantTimeEqual(Crypto.hmac(algorithm.digest!, key: secret, message: signingInput), signature)
        case (.publicKey(let key), .rsaPKCS1):
            return key.verify(digest: algorithm.digest, pss: false, message: signingInput, signature: signature)
        case (.publicKey(let key), .rsaPSS):
            return key.verify(digest: algorithm.digest, pss: true, message: signingInput, signature: signature)
        case (.publicKey(let key), .ecdsa(_, let coordinateBytes)):
            // JWS carries R||S (RFC 7518 §3.4); OpenSSL wants DER.
            guard let der = Crypto.derECDSASignature(fromRaw: signature, coordinateBytes: coordinateBytes) else { return false }
            return key.verify(digest: algorithm.digest, pss: false, message: signingInput, signature: der)
        case (.publicKey(let key), .edDSA):
            return key.verify(digest: nil, pss: false, message: signingInput, signature: signature)
        default:
            return false
        }
    }
}
