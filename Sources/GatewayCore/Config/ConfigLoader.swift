// gateway.conf → GatewayConfig. Reads the whole file, reports every problem at once (with line
// and column), and returns a plain Sendable value; nothing here keeps a reference to the text.

public enum ConfigLoader {
    /// Reads and parses the file at `path`. `baseDirectory` of the result is the file's folder.
    public static func load(path: String) -> Result<GatewayConfig, ConfigErrors> {
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        let bytes: [UInt8]
        switch readWholeFile(path) {
        case .success(let content): bytes = content
        case .failure(let reason):
            return .failure(ConfigErrors([ConfigError(code: "config.file_unreadable",
                                                      message: "cannot read '\(path)': \(reason)", fileName: fileName)]))
        }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.utf8.elementsEqual(bytes) else {
            return .failure(ConfigErrors([ConfigError(code: "config.syntax", message: "the file is not valid UTF-8",
                                                      fileName: fileName)]))
        }
        return parse(text, baseDirectory: directory(of: path), fileName: fileName).map { config in
            var located = config
            located.sourcePath = path
            return located
        }
    }

    /// Parses config text; `fileName` only labels error messages.
    public static func parse(_ text: String, baseDirectory: String, fileName: String) -> Result<GatewayConfig, ConfigErrors> {
        let (root, syntaxErrors) = TOMLParser.parse(text, fileName: fileName)
        // Mapping a document with broken lines would add confusing follow-on errors (a plugin
        // "missing" the name whose line did not parse), so syntax errors are reported alone.
        if syntaxErrors.contains(where: { $0.code == "config.syntax" }) {
            return .failure(ConfigErrors(syntaxErrors))
        }
        var mapper = ConfigMapper(fileName: fileName, errors: syntaxErrors)
        var config = mapper.readConfig(root)
        config.baseDirectory = baseDirectory
        guard mapper.errors.isEmpty else {
            let ordered = mapper.errors.enumerated().sorted {
                ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset)
            }
            return .failure(ConfigErrors(ordered.map(\.element)))
        }
        return .success(config)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

extension ConfigMapper {
    mutating func readConfig(_ root: TOMLTable) -> GatewayConfig {
        var config = GatewayConfig()
        for (key, item) in root.entries {
            switch (key, item.value.value) {
            case ("plugin_directory", _):
                if let text = string(key, item, in: "the top level") { config.pluginDirectory = text }
            case ("plugins", _):
                config.plugins = readPlugins(item)
            case (_, .table(let table)) where GatewayConfig.sectionNames.contains(key):
                readSection(key, table, into: &config)
            case (_, _) where GatewayConfig.sectionNames.contains(key):
                wrongType(key, item, in: "the top level", expected: "a table ([\(key)])")
            case (_, .table), (_, .tableArray):
                var message = "unknown section [\(key)]"
                if let suggestion = closestMatch(to: key, among: GatewayConfig.sectionNames) {
                    message += " (did you mean [\(suggestion)]?)"
                }
                fail("config.unknown_section", message, at: item.keyPosition)
            default:
                unknownKey(key, at: item.keyPosition, in: "the top level",
                           known: GatewayConfig.topLevelKeys + GatewayConfig.sectionNames)
            }
        }
        return config
    }

    private mutating func readSection(_ name: String, _ table: TOMLTable, into config: inout GatewayConfig) {
        let label = "[\(name)]"
        switch name {
        case "server":
            config.server = read(table, into: config.server, label: label, fields: GatewayConfig.serverFields)
            checkTLSPair(table, label: label)
        case "auth": config.auth = read(table, into: config.auth, label: label, fields: GatewayConfig.authFields)
        case "history": config.history = read(table, into: config.history, label: label, fields: GatewayConfig.historyFields)
        case "attachments":
            config.attachments = read(table, into: config.attachments, label: label, fields: GatewayConfig.attachmentsFields)
        case "hosts": config.hosts = readHosts(table)
        case "engine": config.engine = read(table, into: config.engine, label: label, fields: GatewayConfig.engineFields)
        case "offline": config.offline = read(table, into: config.offline, label: label, fields: GatewayConfig.offlineFields)
        default: config.redis = read(table, into: config.redis, label: label, fields: GatewayConfig.redisFields)
        }
    }

    /// TLS needs the certificate and its key: one of the two keys alone is `config.tls_incomplete`.
    private mutating func checkTLSPair(_ table: TOMLTable, label: String) {
        let (certificate, key) = ("tls_certificate_file", "tls_private_key_file")
        switch (table[certificate], table[key]) {
        case (let present?, nil):
            fail("config.tls_incomplete", "'\(certificate)' in \(label) needs '\(key)' too (the certificate's private key)",
                 at: present.keyPosition)
        case (nil, let present?):
            fail("config.tls_incomplete", "'\(key)' in \(label) needs '\(certificate)' too (the certificate it belongs to)",
                 at: present.keyPosition)
        default: break
        }
    }

    /// `[hosts]`: each key a host, each value the principals allowed on it (strings, or "*").
    private mutating func readHosts(_ table: TOMLTable) -> [String: [String]] {
        var hosts: [String: [String]] = [:]
        for (host, item) in table.entries {
            guard case .array(let nodes) = item.value.value else {
                wrongType(host, item, in: "[hosts]", expected: "an array of principals (strings, or \"*\" for any token)")
                continue
            }
            var principals: [String] = []
            for node in nodes {
                guard case .string(let principal) = node.value, !principal.isEmpty else {
                    fail("config.wrong_type", "each principal of '\(host)' in [hosts] must be a non-empty string", at: node.position)
                    continue
                }
                principals.append(principal)
            }
            hosts[host] = principals
        }
        return hosts
    }

    /// `[[plugins]]` blocks (or an array of inline tables), in file order: that order is the chain.
    private mutating func readPlugins(_ item: TOMLTable.Item) -> [GatewayConfig.Plugin] {
        let tables: [TOMLTable]
        switch item.value.value {
        case .tableArray(let blocks): tables = blocks
        case .array(let nodes):
            tables = nodes.compactMap { node in
                if case .table(let table) = node.value { return table }
                fail("config.wrong_type", "each entry of 'plugins' must be a table, got \(node.value.typeName)",
                     at: node.position)
                return nil
            }
        default:
            wrongType("plugins", item, in: "the top level", expected: "an array of tables ([[plugins]])")
            return []
        }
        var plugins: [GatewayConfig.Plugin] = []
        var lineOfName: [String: Int] = [:]
        for table in tables {
            guard let (plugin, namePosition) = readPlugin(table) else { continue }
            if let firstLine = lineOfName[plugin.name] {
                fail("config.duplicate_plugin",
                     "plugin name '\(plugin.name)' is already used by the [[plugins]] entry at line \(firstLine); names must be unique",
                     at: namePosition)
                continue
            }
            lineOfName[plugin.name] = table.position.line
            plugins.append(plugin)
        }
        return plugins
    }

    private mutating func readPlugin(_ table: TOMLTable) -> (GatewayConfig.Plugin, SourcePosition)? {
        let label = "[[plugins]] (line \(table.position.line))"
        var name: String?, library: String?, enabled = true
        var namePosition = table.position
        var config: [(key: String, value: ConfigValue)] = []
        for (key, item) in table.entries {
            switch key {
            case "name":
                name = string(key, item, in: label)
                namePosition = item.value.position
            case "library": library = string(key, item, in: label)
            case "enabled": enabled = bool(key, item, in: label) ?? enabled
            case "config":
                if case .table(let configTable) = item.value.value {
                    config = configTable.configEntries
                } else {
                    wrongType(key, item, in: label, expected: "a table ([plugins.config])")
                }
            default: unknownKey(key, at: item.keyPosition, in: label, known: GatewayConfig.pluginKeys)
            }
        }
        let missingName = name == nil && table["name"] == nil
        let missingLibrary = library == nil && table["library"] == nil
        if missingName { fail("config.missing_key", "\(label) needs a 'name'", at: table.position) }
        if missingLibrary { fail("config.missing_key", "\(label) needs a 'library' (a .so path or file name)", at: table.position) }
        guard let name, let library else { return nil }
        return (GatewayConfig.Plugin(name: name, library: library, enabled: enabled, config: config,
                                     line: table.position.line), namePosition)
    }
}
