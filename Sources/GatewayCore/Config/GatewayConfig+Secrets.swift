// Paths and secrets named by the config, resolved exactly one way, so the server and the
// `gateway token` command can never disagree about which HS256 secret is in force.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension GatewayConfig {
    /// An absolute path stays as it is; a relative one is taken from the config file's folder.
    public func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") || baseDirectory.isEmpty { return path }
        return baseDirectory.hasSuffix("/") ? baseDirectory + path : baseDirectory + "/" + path
    }

    /// The HS256 secret in force: `hs256_secret`, else the content of `hs256_secret_file`
    /// (trailing newlines stripped), else the variable named by `hs256_secret_env`, else the
    /// development default. A configured file or variable that yields nothing is an error,
    /// never a silent fall-back to the development secret.
    /// `environment` replaces the process environment (tests); nil reads the real one.
    public func resolvedHS256Secret(environment: [String: String]? = nil) throws(ConfigError)
        -> (secret: [UInt8], isDevelopmentDefault: Bool)
    {
        if let secret = auth.hs256Secret {
            return (Array(secret.utf8), false)
        }
        if let file = auth.hs256SecretFile {
            let path = resolvePath(file)
            switch readWholeFile(path) {
            case .failure(let reason):
                throw secretError("cannot read hs256_secret_file '\(path)': \(reason)")
            case .success(var bytes):
                while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
                guard !bytes.isEmpty else { throw secretError("hs256_secret_file '\(path)' is empty") }
                return (bytes, false)
            }
        }
        if let variable = auth.hs256SecretEnv {
            let value = environment.map { $0[variable] } ?? getenv(variable).map { String(cString: $0) }
            guard let value, !value.isEmpty else {
                throw secretError("hs256_secret_env names the variable \(variable), which is not set or is empty")
            }
            return (Array(value.utf8), false)
        }
        return (Array(Auth.developmentSecret.utf8), true)
    }

    /// The PEM text of the configured RS256 / ES256 public keys (nil when not configured).
    public func resolvedPublicKeyPEMs() throws(ConfigError) -> (rs256: String?, es256: String?) {
        func read(_ file: String?, _ key: String) throws(ConfigError) -> String? {
            guard let file else { return nil }
            let path = resolvePath(file)
            switch readWholeFile(path) {
            case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
            case .failure(let reason): throw secretError("cannot read \(key) '\(path)': \(reason)")
            }
        }
        return (try read(auth.rs256PublicKeyFile, "rs256_public_key_file"),
                try read(auth.es256PublicKeyFile, "es256_public_key_file"))
    }

    /// The PEM text of each `public_key_files` entry, in order.
    public func resolvedExtraPublicKeyPEMs() throws(ConfigError) -> [String] {
        var pems: [String] = []
        for file in auth.publicKeyFiles {
            let path = resolvePath(file)
            switch readWholeFile(path) {
            case .success(let bytes): pems.append(String(decoding: bytes, as: UTF8.self))
            case .failure(let reason): throw secretError("cannot read public_key_files entry '\(path)': \(reason)")
            }
        }
        return pems
    }

    /// The JWKS file's text, read now (at start and on every SIGHUP); nil when not configured.
    public func resolvedJWKS() throws(ConfigError) -> String? {
        guard let file = auth.jwksFile else { return nil }
        let path = resolvePath(file)
        switch readWholeFile(path) {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(let reason): throw secretError("cannot read jwks_file '\(path)': \(reason)")
        }
    }

    private func secretError(_ message: String) -> ConfigError {
        ConfigError(code: "config.secret_unavailable", message: message)
    }
}

/// The whole content of a (small) file, or the system's reason why it could not be read.
func readWholeFile(_ path: String) -> Result<[UInt8], FileReadFailure> {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return .failure(FileReadFailure(errno: errno)) }
    defer { close(descriptor) }
    var content: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return .failure(FileReadFailure(errno: errno))
        }
        if count == 0 { return .success(content) }
        content += chunk[0..<count]
    }
}

struct FileReadFailure: Error, CustomStringConvertible {
    let errno: Int32
    var description: String { String(cString: strerror(errno)) }
}
