// The Swift toolchain this module was compiled with. The SDK writes it into a Swift plugin's
// build signature and the host compares it with its own: two Swift runtimes' type metadata must
// not meet in one process, so a plugin built by another toolchain is refused at load.
public enum SwiftToolchain {
    /// "swift-6.3.1". `#if compiler` is the only compile-time view of the version, so the
    /// known patch releases are listed; newer toolchains read as "swift-6.4+" until added here.
    public static let version: String = {
        #if compiler(>=6.4)
        return "swift-6.4+"
        #elseif compiler(>=6.3.2)
        return "swift-6.3.2"
        #elseif compiler(>=6.3.1)
        return "swift-6.3.1"
        #elseif compiler(>=6.3)
        return "swift-6.3.0"
        #elseif compiler(>=6.2)
        return "swift-6.2"
        #elseif compiler(>=6.1)
        return "swift-6.1"
        #else
        return "swift-6.0-or-older"
        #endif
    }()

    /// What every SDK-built plugin's build signature starts with.
    public static let sdkSignaturePrefix = "GatewayPlugin Swift SDK"

    /// The toolchain named in an SDK build signature ("...; swift-6.3.1"), nil when the
    /// signature is not the SDK's or predates toolchain stamping (ABI 1.1 SDK).
    public static func toolchain(inSignature signature: String) -> String? {
        guard signature.hasPrefix(sdkSignaturePrefix) else { return nil }
        for part in signature.split(separator: ";") {
            let token = part.drop(while: { $0 == " " })
            if token.hasPrefix("swift-") { return String(token) }
        }
        return nil
    }
}
