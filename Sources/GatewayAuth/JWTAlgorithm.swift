// The JWS algorithms the gateway verifies (RFC 7518 §3, RFC 8037 for EdDSA), and what each
// needs from a key. `alg` from a token header is looked up here first: anything else is
// `auth.unsupported_algorithm` before any key is touched.
import COpenSSL

public enum JWTAlgorithm: String, Sendable, CaseIterable {
    case hs256 = "HS256", hs384 = "HS384", hs512 = "HS512"
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    case edDSA = "EdDSA"

    /// The kind of key that can verify this algorithm: one family never verifies another's
    /// tokens (an RS256 public key is never an HMAC secret — the classic confusion attack).
    enum Family: Equatable { case hmac, rsaPKCS1, rsaPSS, ecdsa(curve: String, coordinateBytes: Int), edDSA }

    var family: Family {
        switch self {
        case .hs256, .hs384, .hs512: return .hmac
        case .rs256, .rs384, .rs512: return .rsaPKCS1
        case .ps256, .ps384, .ps512: return .rsaPSS
        case .es256: return .ecdsa(curve: "prime256v1", coordinateBytes: 32)
        case .es384: return .ecdsa(curve: "secp384r1", coordinateBytes: 48)
        case .es512: return .ecdsa(curve: "secp521r1", coordinateBytes: 66)
        case .edDSA: return .edDSA
        }
    }

    /// The digest OpenSSL hashes with; nil for EdDSA, which hashes internally.
    var digest: OpaquePointer? {
        switch self {
        case .hs256, .rs256, .ps256, .es256: return EVP_sha256()
        case .hs384, .rs384, .ps384, .es384: return EVP_sha384()
        case .hs512, .rs512, .ps512, .es512: return EVP_sha512()
        case .edDSA: return nil
        }
    }

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
