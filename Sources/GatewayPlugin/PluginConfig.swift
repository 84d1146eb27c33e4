// Typed reading of a plugin's config table with stable error codes. Unknown keys are errors,
// as in gateway.conf itself: a misspelt key that is silently ignored is a security bug waiting
// to happen (a filter that never filters).

public struct PluginConfig {
    public let json: JSONView
    /// Prefix of every error code, e.g. "category_targets" → "category_targets.bad_type".
    public let codePrefix: String

    /// Fails with "<prefix>.unknown_key" when the table has a key outside `allowedKeys`.
    public init(_ json: JSONView, codePrefix: String, allowedKeys: Set<String>) throws(PluginError) {
        self.json = json
        self.codePrefix = codePrefix
        for (key, _) in json.members where !allowedKeys.contains(key) {
            let known = allowedKeys.sorted().joined(separator: ", ")
            throw error("unknown_key", "unknown config key '\(key)'; known keys: \(known)")
        }
    }

    public func error(_ code: String, _ message: String) -> PluginError {
        PluginError(code: "\(codePrefix).\(code)", message)
    }

    public func has(_ key: String) -> Bool { json[key].exists }

    public func string(_ key: String, default fallback: String) throws(PluginError) -> String {
        let value = json[key]
        guard value.exists else { return fallback }
        guard let text = value.string else { throw typeError(key, "a string") }
        return text
    }

    public func strings(_ key: String, default fallback: [String]) throws(PluginError) -> [String] {
        let value = json[key]
        guard value.exists else { return fallback }
        guard let list = value.strings else { throw typeError(key, "an array of strings") }
        return list
    }

    public func bool(_ key: String, default fallback: Bool) throws(PluginError) -> Bool {
        let value = json[key]
        guard value.exists else { return fallback }
        guard let flag = value.bool else { throw typeError(key, "true or false") }
        return flag
    }

    public func int(_ key: String, default fallback: Int, in range: ClosedRange<Int>) throws(PluginError) -> Int {
        let value = json[key]
        guard value.exists else { return fallback }
        guard let number = value.int else { throw typeError(key, "an integer") }
        guard range.contains(number) else {
            throw error("out_of_range", "config key '\(key)' is \(number); it must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return number
    }

    /// A nested table, or nil when absent.
    public func table(_ key: String) throws(PluginError) -> JSONView? {
        let value = json[key]
        guard value.exists else { return nil }
        guard value.isObject else { throw typeError(key, "a table") }
        return value
    }

    private func typeError(_ key: String, _ expected: String) -> PluginError {
        error("bad_type", "config key '\(key)' must be \(expected)")
    }
}
