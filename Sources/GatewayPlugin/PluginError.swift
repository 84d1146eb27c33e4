// Errors a plugin reports to the host. The text that reaches the host is "code: message", so a
// log line or a rejected configuration always carries a stable code an operator can search for.

public struct PluginError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable, dotted code such as "category_targets.unknown_rule". Never reworded.
    public let code: String
    /// A sentence that says what is wrong and what to do.
    public let message: String

    public init(code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

/// The error a plugin's `init(config:host:)` throws to reject its configuration.
public typealias PluginConfigError = PluginError
