import GatewayCore
import NIOConcurrencyHelpers
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// `[server] tls_certificate_file` and `tls_private_key_file`: the TLS context each new
/// connection starts from (HTTPS and wss on the listening port). SIGHUP re-reads both files: new
/// connections get the new certificate, connections already open keep the one they started with.
///
/// swift-nio-ssl (BoringSSL inside, symbols prefixed so it does not clash with the OpenSSL the
/// JWT code links): its `NIOSSLServerHandler` is a NIO channel handler, so TLS is one more stage
/// at the front of the pipeline, with NIO's buffers and backpressure.
final class TLSCertificates: Sendable {
    let certificatePath: String
    let privateKeyPath: String
    private let context: NIOLockedValueBox<Loaded>

    private struct Loaded: Sendable {
        let context: NIOSSLContext
        /// The leaf certificate's serial number in hex.
        let serial: String
    }

    /// Loads both files; a missing or unreadable file or a key of another certificate is an error
    /// with a stable code (`tls.certificate_unreadable`, `tls.private_key_unreadable`, `tls.key_mismatch`).
    init(certificatePath: String, privateKeyPath: String) throws(GatewayError) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        context = NIOLockedValueBox(try Self.load(certificatePath: certificatePath, privateKeyPath: privateKeyPath))
    }

    /// The context a connection accepted now uses.
    var current: NIOSSLContext { context.withLockedValue { $0.context } }

    /// The serial number (hex) of the certificate in force, for the log.
    var serial: String { context.withLockedValue { $0.serial } }

    /// Re-reads both files. On any error the certificate in force stays and the error is thrown.
    func reload() throws(GatewayError) {
        let fresh = try Self.load(certificatePath: certificatePath, privateKeyPath: privateKeyPath)
        context.withLockedValue { $0 = fresh }
    }

    private static func load(certificatePath: String, privateKeyPath: String) throws(GatewayError) -> Loaded {
        let chain: [NIOSSLCertificate]
        do {
            try requireReadable(certificatePath)
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw GatewayError(code: "tls.certificate_unreadable",
                               message: "cannot read a PEM certificate from '\(certificatePath)' ([server] tls_certificate_file): \(error)",
                               status: 500)
        }
        guard let leaf = chain.first else {
            throw GatewayError(code: "tls.certificate_unreadable",
                               message: "'\(certificatePath)' ([server] tls_certificate_file) holds no PEM certificate", status: 500)
        }
        let key: NIOSSLPrivateKey
        do {
            try requireReadable(privateKeyPath)
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw GatewayError(code: "tls.private_key_unreadable",
                               message: "cannot read a PEM private key from '\(privateKeyPath)' ([server] tls_private_key_file; unencrypted PEM expected): \(error)",
                               status: 500)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.applicationProtocols = ["http/1.1"]
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw GatewayError(code: "tls.key_mismatch",
                               message: "the private key '\(privateKeyPath)' does not belong to the certificate '\(certificatePath)' (BoringSSL: \(error))",
                               status: 500)
        }
        return Loaded(context: context, serial: leaf.serialNumber.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined())
    }

    /// BoringSSL says only "failed to load"; a missing or forbidden file deserves its own words.
    private static func requireReadable(_ path: String) throws {
        guard access(path, R_OK) == 0 else { throw UnreadableFile(reason: String(cString: strerror(errno))) }
    }

    private struct UnreadableFile: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }
}

extension TLSCertificates {
    /// The configured pair loaded as a start would load it, or nil when TLS is off: the one place
    /// that reads `[server] tls_certificate_file` and `tls_private_key_file`.
    static func configured(by config: GatewayConfig) throws(GatewayError) -> TLSCertificates? {
        guard let certificate = config.server.tlsCertificateFile, let key = config.server.tlsPrivateKeyFile else { return nil }
        return try TLSCertificates(certificatePath: config.resolvePath(certificate), privateKeyPath: config.resolvePath(key))
    }
}

/// For `gateway check`: loads the TLS pair as a start would (same errors, same codes) and
/// returns the certificate's serial in hex, or nil when TLS is off.
public func checkTLSFiles(of config: GatewayConfig) throws(GatewayError) -> String? {
    try TLSCertificates.configured(by: config)?.serial
}
