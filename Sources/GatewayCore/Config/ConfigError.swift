// Errors found in gateway.conf. Each carries a stable code (for scripts and tests), a sentence
// for the operator, and the place in the file, formatted like a compiler diagnostic:
//   gateway.conf:12:3: config.unknown_key: unknown key 'listne' in [server] (did you mean 'listen'?)
//
// Codes:
//   config.file_unreadable     the file could not be read
//   config.syntax              not valid TOML
//   config.duplicate_key       a key or table defined twice
//   config.unknown_section     a top-level table gateway.conf does not have
//   config.unknown_key         a key a section does not have
//   config.wrong_type          e.g. a string where an integer is expected
//   config.out_of_range        e.g. a negative size, a port above 65535
//   config.invalid_value       e.g. listen that is not HOST:PORT, an empty string
//   config.replaced_key        a key of an older gateway.conf; the message names its replacement
//   config.missing_key         a required key (plugin name, library) is absent
//   config.duplicate_plugin    two [[plugins]] with the same name
//   config.secret_unavailable  the configured HS256 secret file or variable gives no secret

public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// 1-based; 0 when the error is about the file as a whole.
    public var line: Int
    public var column: Int
    /// The file name shown in `description` (e.g. "gateway.conf").
    public var fileName: String

    public init(code: String, message: String, line: Int = 0, column: Int = 0, fileName: String = "gateway.conf") {
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.fileName = fileName
    }

    init(_ code: String, _ message: String, at position: SourcePosition?, fileName: String) {
        self.init(code: code, message: message, line: position?.line ?? 0, column: position?.column ?? 0,
                  fileName: fileName)
    }

    public var description: String {
        line > 0 ? "\(fileName):\(line):\(column): \(code): \(message)" : "\(fileName): \(code): \(message)"
    }
}

/// Every error found in one file, in file order, so an operator fixes them all in one pass.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
    /// The codes, in order; convenient for tests and logs.
    public var codes: [String] { errors.map(\.code) }
}
