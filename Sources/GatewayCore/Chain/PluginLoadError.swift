// Why a plugin could not be loaded or instantiated. Every refusal names the file and says what is
// wrong, so an operator can fix gateway.conf or rebuild the plugin without reading the source.

public struct PluginLoadError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Stable machine-readable code, e.g. "plugin.abi_major_mismatch". See `Code`.
    public let code: String
    /// The shared object concerned (as resolved; the real path once the file exists).
    public let file: String
    /// The [[plugins]] entry name, when the error belongs to one entry (nil for `plugin inspect`).
    public let plugin: String?
    /// A sentence naming the file and what is wrong.
    public let message: String

    public init(code: String, file: String, plugin: String?, message: String) {
        self.code = code
        self.file = file
        self.plugin = plugin
        self.message = message
    }

    public var description: String {
        if let plugin { return "[\(code)] plugin '\(plugin)': \(message)" }
        return "[\(code)] \(message)"
    }

    /// The codes this module produces. Strings, not an enum, so new codes do not break callers.
    public enum Code {
        public static let fileMissing = "plugin.file_missing"
        public static let notSharedObject = "plugin.not_shared_object"
        public static let entryMissing = "plugin.entry_missing"
        public static let invalidDescriptor = "plugin.invalid_descriptor"
        public static let abiMajorMismatch = "plugin.abi_major_mismatch"
        public static let descriptorTooSmall = "plugin.descriptor_too_small"
        public static let unknownCapability = "plugin.unknown_capability"
        public static let capabilityHookMissing = "plugin.capability_hook_missing"
        public static let createFailed = "plugin.create_failed"
        public static let duplicateName = "plugin.duplicate_name"
        public static let swiftToolchainMismatch = "plugin.swift_toolchain_mismatch"
    }
}

/// `PluginHost.makeChain` reports every refusal at once as `Result<_, [PluginLoadError]>`;
/// Result needs its failure type to be an Error.
extension Array: @retroactive Error where Element == PluginLoadError {}
