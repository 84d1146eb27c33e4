import Foundation
import GatewayAuth
import GatewayJSON

/// Keys made and tokens signed by the `openssl` command-line tool, not by the gateway's own
/// code: a verifier bug cannot be hidden by the same bug in the signer.
final class OpenSSLCLIKey {
    let algorithm: String
    let directory: URL
    /// The HMAC secret (HS*) or nil.
    let secret: String?
    /// PEM public key (not for HS*).
    let publicKeyPEM: String?

    private var privateKey: URL { directory.appendingPathComponent("key.pem") }

    /// A fresh key for `algorithm` (HS256 … EdDSA).
    init(_ algorithm: String) throws {
        self.algorithm = algorithm
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwt-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let key = directory.appendingPathComponent("key.pem").path
        let family = algorithm.prefix(2)
        switch family {
        case "HS":
            secret = try Self.openssl(["rand", "-hex", "32"]).text.trimmingCharacters(in: .whitespacesAndNewlines)
            publicKeyPEM = nil
            return
        case "RS", "PS":
            _ = try Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key])
        case "ES":
            let curve = ["ES256": "P-256", "ES384": "P-384", "ES512": "P-521"][algorithm]!
            _ = try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:\(curve)", "-out", key])
        default:
            _ = try Self.openssl(["genpkey", "-algorithm", "ed25519", "-out", key])
        }
        secret = nil
        publicKeyPEM = try Self.openssl(["pkey", "-in", key, "-pubout"]).text
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// A compact JWS over `claims` whose header says `alg` (normally this key's algorithm) and
    /// optionally a `kid`, signed by openssl with this key.
    func sign(_ claims: JSON, alg: String? = nil, kid: String? = nil) throws -> String {
        let header = JSON.object()
        header.set("alg", alg ?? algorithm)
        header.set("typ", "JWT")
        if let kid { header.set("kid", kid) }
        let input = Base64URL.encode(header.encoded()) + "." + Base64URL.encode(claims.encoded())
        let inputFile = directory.appendingPathComponent("input")
        try Data(input.utf8).write(to: inputFile)
        let bits = algorithm == "EdDSA" ? "" : String(algorithm.suffix(3))
        let signature: [UInt8]
        switch algorithm.prefix(2) {
        case "HS":
            signature = try Self.openssl(["dgst", "-sha\(bits)", "-mac", "HMAC", "-macopt", "key:\(secret!)", "-binary", inputFile.path]).bytes
        case "RS":
            signature = try Self.openssl(["dgst", "-sha\(bits)", "-sign", privateKey.path, inputFile.path]).bytes
        case "PS":
            signature = try Self.openssl(["dgst", "-sha\(bits)", "-sign", privateKey.path, "-sigopt", "rsa_padding_mode:pss",
                                          "-sigopt", "rsa_pss_saltlen:digest", inputFile.path]).bytes
        case "ES":
            let der = try Self.openssl(["dgst", "-sha\(bits)", "-sign", privateKey.path, inputFile.path]).bytes
            signature = try Self.rawECDSA(der, coordinateBytes: ["ES256": 32, "ES384": 48, "ES512": 66][algorithm]!)
        default:
            signature = try Self.openssl(["pkeyutl", "-sign", "-inkey", privateKey.path, "-rawin", "-in", inputFile.path]).bytes
        }
        return input + "." + Base64URL.encode(signature)
    }

    /// This key as a JWK (RFC 7517/7518/8037), its parameters read from `openssl pkey -text`.
    func jwk(kid: String, pinAlgorithm: Bool = true) throws -> JSON {
        let jwk = JSON.object()
        jwk.set("kid", kid)
        if pinAlgorithm { jwk.set("alg", algorithm) }
        jwk.set("use", "sig")
        if let secret {
            jwk.set("kty", "oct")
            jwk.set("k", Base64URL.encode(Array(secret.utf8)))
            return jwk
        }
        let publicFile = directory.appendingPathComponent("public.pem")
        try Data(publicKeyPEM!.utf8).write(to: publicFile)
        let text = try Self.openssl(["pkey", "-pubin", "-in", publicFile.path, "-noout", "-text"]).text
        switch algorithm.prefix(2) {
        case "RS", "PS":
            jwk.set("kty", "RSA")
            var modulus = Self.hexBlock(after: "Modulus:", in: text)
            while modulus.first == 0 { modulus.removeFirst() }
            jwk.set("n", Base64URL.encode(modulus))
            jwk.set("e", "AQAB")
        case "ES":
            let point = Self.hexBlock(after: "pub:", in: text)
            let size = (point.count - 1) / 2
            jwk.set("kty", "EC")
            jwk.set("crv", ["ES256": "P-256", "ES384": "P-384", "ES512": "P-521"][algorithm]!)
            jwk.set("x", Base64URL.encode(point[1...size]))
            jwk.set("y", Base64URL.encode(point[(size + 1)...]))
        default:
            jwk.set("kty", "OKP")
            jwk.set("crv", "Ed25519")
            jwk.set("x", Base64URL.encode(Self.hexBlock(after: "pub:", in: text)))
        }
        return jwk
    }

    static func jwks(_ keys: [JSON]) -> String {
        let set = JSON.object()
        let array = JSON.array()
        for key in keys { array.append(key) }
        set.set("keys", array)
        return set.encodedString()
    }

    // MARK: openssl

    struct Output {
        let bytes: [UInt8]
        var text: String { String(decoding: bytes, as: UTF8.self) }
    }

    static func openssl(_ arguments: [String]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLIFailure("openssl \(arguments.prefix(2).joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
        return Output(bytes: Array(bytes))
    }

    /// The colon-separated hex lines that follow `label` in `openssl pkey -text` output.
    static func hexBlock(after label: String, in text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var inside = false
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(label) { inside = true; continue }
            guard inside else { continue }
            let pieces = trimmed.split(separator: ":", omittingEmptySubsequences: true)
            guard !pieces.isEmpty, pieces.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else { break }
            bytes += pieces.map { UInt8($0, radix: 16)! }
        }
        return bytes
    }

    /// DER SEQUENCE { INTEGER r, INTEGER s } → r || s, each left-padded to `coordinateBytes`.
    static func rawECDSA(_ der: [UInt8], coordinateBytes: Int) throws -> [UInt8] {
        var index = 0
        func length() -> Int {
            let first = Int(der[index]); index += 1
            if first < 0x80 { return first }
            var value = 0
            for _ in 0..<(first & 0x7f) { value = value << 8 | Int(der[index]); index += 1 }
            return value
        }
        guard der[index] == 0x30 else { throw CLIFailure("not a DER sequence") }
        index += 1
        _ = length()
        var raw: [UInt8] = []
        for _ in 0..<2 {
            guard der[index] == 0x02 else { throw CLIFailure("not a DER integer") }
            index += 1
            let count = length()
            var value = Array(der[index..<(index + count)])
            index += count
            while value.count > coordinateBytes, value.first == 0 { value.removeFirst() }
            raw += [UInt8](repeating: 0, count: coordinateBytes - value.count) + value
        }
        return raw
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
