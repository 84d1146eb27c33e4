// The typed reading of one TOML table into one section struct: each known key is a Field that
// checks type and range and writes the struct; any other key is an unknown-key error that names
// the closest known key. Errors accumulate in ConfigMapper so one pass reports all of them.

struct ConfigMapper {
    let fileName: String
    var errors: [ConfigError] = []

    mutating func fail(_ code: String, _ message: String, at position: SourcePosition?) {
        errors.append(ConfigError(code, message, at: position, fileName: fileName))
    }

    /// Reads `table` into a fresh `Section`, applying `fields`; `label` names the table in
    /// messages (e.g. "[server]").
    mutating func read<Section>(_ table: TOMLTable, into initial: Section, label: String,
                                fields: [ConfigField<Section>]) -> Section {
        var section = initial
        for (key, item) in table.entries {
            if let field = fields.first(where: { $0.key == key }) {
                field.apply(&section, item, label, &self)
            } else {
                unknownKey(key, at: item.keyPosition, in: label, known: fields.map(\.key))
            }
        }
        return section
    }

    mutating func unknownKey(_ key: String, at position: SourcePosition, in label: String, known: [String]) {
        var message = "unknown key '\(key)' in \(label)"
        if let suggestion = closestMatch(to: key, among: known) { message += " (did you mean '\(suggestion)'?)" }
        fail("config.unknown_key", message, at: position)
    }

    mutating func wrongType(_ key: String, _ item: TOMLTable.Item, in label: String, expected: String) {
        fail("config.wrong_type", "'\(key)' in \(label) must be \(expected), got \(item.value.value.typeName)",
             at: item.value.position)
    }

    // MARK: Typed reads shared by fields and the plugin reader

    mutating func string(_ key: String, _ item: TOMLTable.Item, in label: String, allowEmpty: Bool = false) -> String? {
        guard case .string(let text) = item.value.value else {
            wrongType(key, item, in: label, expected: "a string")
            return nil
        }
        if !allowEmpty && text.isEmpty {
            fail("config.invalid_value", "'\(key)' in \(label) must not be empty", at: item.value.position)
            return nil
        }
        return text
    }

    mutating func integer(_ key: String, _ item: TOMLTable.Item, in label: String, range: ClosedRange<Int>) -> Int? {
        guard case .integer(let number) = item.value.value else {
            wrongType(key, item, in: label, expected: "an integer")
            return nil
        }
        guard range.contains(number) else {
            let bounds = range.upperBound == Int.max ? "at least \(range.lowerBound)"
                : "between \(range.lowerBound) and \(range.upperBound)"
            fail("config.out_of_range", "'\(key)' in \(label) must be \(bounds), got \(number)", at: item.value.position)
            return nil
        }
        return number
    }

    mutating func bool(_ key: String, _ item: TOMLTable.Item, in label: String) -> Bool? {
        guard case .bool(let flag) = item.value.value else {
            wrongType(key, item, in: label, expected: "a boolean (true or false)")
            return nil
        }
        return flag
    }
}

struct ConfigField<Section> {
    let key: String
    let apply: (inout Section, TOMLTable.Item, String, inout ConfigMapper) -> Void

    static func string(_ key: String, _ path: WritableKeyPath<Section, String>,
                       check: ((String) -> (code: String, message: String)?)? = nil) -> ConfigField {
        ConfigField(key: key) { section, item, label, mapper in
            guard let text = mapper.string(key, item, in: label) else { return }
            if let problem = check?(text) {
                mapper.fail(problem.code, "'\(key)' in \(label): \(problem.message)", at: item.value.position)
                return
            }
            section[keyPath: path] = text
        }
    }

    static func optionalString(_ key: String, _ path: WritableKeyPath<Section, String?>) -> ConfigField {
        ConfigField(key: key) { section, item, label, mapper in
            if let text = mapper.string(key, item, in: label) { section[keyPath: path] = text }
        }
    }

    static func integer(_ key: String, _ path: WritableKeyPath<Section, Int>, range: ClosedRange<Int>) -> ConfigField {
        ConfigField(key: key) { section, item, label, mapper in
            if let number = mapper.integer(key, item, in: label, range: range) { section[keyPath: path] = number }
        }
    }

    /// A string with a shape of its own (a URL …): `parse` turns it into the value or a sentence.
    static func parsed<Value>(_ key: String, _ path: WritableKeyPath<Section, Value>,
                              parse: @escaping (String) -> Result<Value, InvalidConfigValue>) -> ConfigField {
        ConfigField(key: key) { section, item, label, mapper in
            guard let text = mapper.string(key, item, in: label) else { return }
            switch parse(text) {
            case .success(let value): section[keyPath: path] = value
            case .failure(let problem):
                mapper.fail("config.invalid_value", "'\(key)' in \(label): \(problem.message)", at: item.value.position)
            }
        }
    }

    /// A key an older gateway.conf had: an error that names what replaced it, so an upgrade is
    /// one edit rather than a search through the README.
    static func replaced(_ key: String, by replacement: String, example: String) -> ConfigField {
        ConfigField(key: key) { _, item, label, mapper in
            mapper.fail("config.replaced_key", "'\(key)' in \(label) was replaced by '\(replacement)'; write \(example)",
                        at: item.keyPosition)
        }
    }

    /// An array of strings; `check` may refuse an element with a sentence.
    static func strings(_ key: String, _ path: WritableKeyPath<Section, [String]>,
                        check: ((String) -> String?)? = nil) -> ConfigField {
        ConfigField(key: key) { section, item, label, mapper in
            guard case .array(let nodes) = item.value.value else {
                mapper.wrongType(key, item, in: label, expected: "an array of strings")
                return
            }
            var values: [String] = []
            for node in nodes {
                guard case .string(let text) = node.value else {
                    mapper.fail("config.wrong_type", "'\(key)' in \(label) must contain only strings, got \(node.value.typeName)",
                                at: node.position)
                    return
                }
                if let problem = check?(text) {
                    mapper.fail("config.invalid_value", "'\(key)' in \(label): \(problem)", at: node.position)
                    return
                }
                values.append(text)
            }
            section[keyPath: path] = values
        }
    }

    static func bool(_ key: String, _ path: WritableKeyPath<Section, Bool>) -> ConfigField {
        ConfigField(key: key) { section, item, label, mapper in
            if let flag = mapper.bool(key, item, in: label) { section[keyPath: path] = flag }
        }
    }
}

/// The known name closest to a misspelt one, if it is close enough to be a plausible typo.
/// A word is also compared with the leading parts of snake_case names, so 'leway' finds
/// 'leeway_seconds' and 'max_message' finds 'max_message_bytes'.
func closestMatch(to word: String, among candidates: [String]) -> String? {
    let limit = max(2, word.count / 3)
    let scored = candidates.map { candidate -> (String, Int) in
        let parts = candidate.split(separator: "_")
        let prefixes = (1...max(1, parts.count)).map { parts.prefix($0).joined(separator: "_") }
        // A prefix match costs one more than a whole-name match, so whole names win ties.
        let prefixDistance = prefixes.dropLast().map { editDistance(word, $0) + 1 }.min() ?? Int.max
        return (candidate, min(editDistance(word, candidate), prefixDistance))
    }
    return scored.filter { $0.1 <= limit }.min(by: { $0.1 < $1.1 })?.0
}

/// Levenshtein distance; inputs are short config keys, so the quadratic table is fine.
func editDistance(_ lhs: String, _ rhs: String) -> Int {
    let a = Array(lhs), b = Array(rhs)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// Why a string value does not have the shape its key needs (a sentence for the operator).
struct InvalidConfigValue: Error {
    let message: String
}
