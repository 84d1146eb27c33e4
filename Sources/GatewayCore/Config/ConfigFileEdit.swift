// Changes one value of gateway.conf in place, the way an operator would with an editor: every
// other byte of the file (comments, order, spacing) stays as it was. Used by the admin console
// to write a plugin toggle back when the operator asks for it.
//
// Codes:
//   config.not_editable   the file does not parse, the entry is not a [[plugins]] block, or the
//                         edited text would not mean exactly the intended change

public enum ConfigFileEdit {
    /// `text` with `enabled` of the [[plugins]] entry named `entry` set to `enabled`: the existing
    /// `enabled = …` value is replaced, or an `enabled = …` line is added after the entry's `name`.
    /// The result is parsed again and must differ from `text` in that one setting only.
    public static func settingPluginEnabled(_ text: String, entry: String, enabled: Bool,
                                            fileName: String = "gateway.conf") -> Result<String, ConfigError> {
        func refuse(_ message: String) -> Result<String, ConfigError> {
            .failure(ConfigError(code: "config.not_editable", message: message, fileName: fileName))
        }
        guard case .success(let before) = ConfigLoader.parse(text, baseDirectory: ".", fileName: fileName) else {
            return refuse("\(fileName) does not parse as it is now; fix it first (gateway check), then retry")
        }
        let (root, _) = TOMLParser.parse(text, fileName: fileName)
        guard case .tableArray(let tables)? = root["plugins"]?.value.value,
              let table = tables.first(where: { table in
                  if case .string(entry)? = table["name"]?.value.value { return true }
                  return false
              }),
              let nameItem = table["name"]
        else {
            return refuse("\(fileName) has no [[plugins]] block named '\(entry)'")
        }
        // Split on the byte: a String splits by Character, and "\r\n" is one Character.
        var lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        let literal = enabled ? "true" : "false"
        if let current = table["enabled"] {
            guard case .bool(let old) = current.value.value else { return refuse("'enabled' of '\(entry)' is not a boolean") }
            let index = current.value.position.line - 1
            var scalars = Array(lines[index].unicodeScalars)
            let start = current.value.position.column - 1
            let oldLength = (old ? "true" : "false").unicodeScalars.count
            scalars.replaceSubrange(start..<(start + oldLength), with: literal.unicodeScalars)
            var edited = String.UnicodeScalarView()
            edited.append(contentsOf: scalars)
            lines[index] = String(edited)
        } else {
            let nameLine = lines[nameItem.keyPosition.line - 1]
            let indentation = nameLine.prefix(while: { $0 == " " || $0 == "\t" })
            let lineEnd = nameLine.hasSuffix("\r") ? "\r" : ""
            lines.insert("\(indentation)enabled = \(literal)\(lineEnd)", at: nameItem.keyPosition.line)
        }
        let result = lines.joined(separator: "\n")
        var expected = before
        if let index = expected.plugins.firstIndex(where: { $0.name == entry }) { expected.plugins[index].enabled = enabled }
        guard case .success(let after) = ConfigLoader.parse(result, baseDirectory: ".", fileName: fileName),
              after == expected
        else {
            return refuse("setting 'enabled' of '\(entry)' in place would change more than that setting; edit \(fileName) by hand")
        }
        return .success(result)
    }
}
