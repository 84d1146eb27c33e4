// A JSON Web Key Set (RFC 7517) file → verification keys. Keys of types the gateway cannot use
// for signatures (`use: "enc"`, unknown `kty`) are skipped; a key that claims to be usable but
// is broken is an error, so a typo in a key file is found at start or reload, not per token.
import COpenSSL
import GatewayJSON

public enum JWKS {
    public static func keys(from text: String) throws(AuthError) -> [VerificationKey] {
        let parsed: JSON
        do throws(JSONError) {
            parsed = try JSON.parse(Array(text.utf8))
        } catch {
            throw .invalidKey("the JWKS is not JSON: \(error.message)")
        }
        guard let list = parsed.view["keys"].arrayIfPresent else {
            throw .invalidKey("a JWKS is an object with a \"keys\" array")
        }
        var keys: [VerificationKey] = []
        for (index, jwk) in list.enumerated() {
            let label = "JWKS key \(index)" + (jwk["kid"].string.map { " (kid \($0))" } ?? "")
            guard jwk.isObject, let type = jwk["kty"].string else { throw .invalidKey("\(label) has no 'kty'") }
            if let use = jwk["use"].string, use != "sig" { continue }
            var algorithm: JWTAlgorithm?
            if let name = jwk["alg"].string {
                guard let known = JWTAlgorithm(rawValue: name) else { continue }   // e.g. RSA-OAEP: not for JWS
                algorithm = known
            }
            let keyId = jwk["kid"].string
            switch type {
            case "oct":
                keys.append(VerificationKey(secret: try bytes(jwk, "k", label), keyId: keyId, algorithm: algorithm))
            case "RSA":
                let key = try OpenSSLKey.rsaPublicKey(modulus: try bytes(jwk, "n", label), exponent: try bytes(jwk, "e", label), label: label)
                keys.append(try VerificationKey(publicKey: key, keyId: keyId, algorithm: algorithm, label: label))
            case "EC":
                let curves = ["P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1"]
                guard let curve = jwk["crv"].string.flatMap({ curves[$0] }) else { throw .invalidKey("\(label): 'crv' must be P-256, P-384 or P-521") }
                let key = try OpenSSLKey.ecPublicKey(curve: curve, x: try bytes(jwk, "x", label), y: try bytes(jwk, "y", label), label: label)
                keys.append(try VerificationKey(publicKey: key, keyId: keyId, algorithm: algorithm, label: label))
            case "OKP":
                guard jwk["crv"].string == "Ed25519" else { continue }   // X25519 is for key agreement
                let key = try OpenSSLKey.ed25519PublicKey(try bytes(jwk, "x", label), label: label)
                keys.append(try VerificationKey(publicKey: key, keyId: keyId, algorithm: algorithm, label: label))
            default:
                continue
            }
        }
        return keys
    }

    private static func bytes(_ jwk: JSONView, _ member: String, _ label: String) throws(AuthError) -> [UInt8] {
        guard let text = jwk[member].string, let decoded = Base64URL.decode(Array(text.utf8)), !decoded.isEmpty else {
            throw .invalidKey("\(label): '\(member)' must be a non-empty base64url string")
        }
        return decoded
    }
}

extension JSONView {
    /// The elements when this is an array, nil otherwise.
    fileprivate var arrayIfPresent: [JSONView]? { isArray ? elements : nil }
}
