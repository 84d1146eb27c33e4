import GatewayCore
import Testing

/// The admin console writes a plugin toggle back to gateway.conf without touching anything else.
@Suite struct ConfigFileEditTests {
    let file = """
        # my gateway
        [server]
        listen = "127.0.0.1:8080"   # loopback

        [[plugins]]
        name = "first"
        library = "libA.so"
        enabled = true              # keep this comment
          [plugins.config]
          enabled = "not the plugin's switch"

        [[plugins]]
          name = "second"
          library = "libB.so"

        """

    @Test func replacesTheValueInPlace() throws {
        let edited = try ConfigFileEdit.settingPluginEnabled(file, entry: "first", enabled: false).get()
        #expect(edited == file.replacingOccurrences(of: "enabled = true              #", with: "enabled = false              #"))
    }

    @Test func addsTheKeyAfterTheNameWhenAbsent() throws {
        let edited = try ConfigFileEdit.settingPluginEnabled(file, entry: "second", enabled: false).get()
        #expect(edited == file.replacingOccurrences(of: "  name = \"second\"\n", with: "  name = \"second\"\n  enabled = false\n"))
        let config = try ConfigLoader.parse(edited, baseDirectory: ".", fileName: "gateway.conf").get()
        #expect(config.plugins.map(\.enabled) == [true, false])
    }

    @Test func keepsWindowsLineEnds() throws {
        let crlf = file.replacingOccurrences(of: "\n", with: "\r\n")
        let edited = try ConfigFileEdit.settingPluginEnabled(crlf, entry: "second", enabled: true).get()
        #expect(edited.contains("  name = \"second\"\r\n  enabled = true\r\n"))
        #expect(!edited.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test func refusesWhatItCannotEditSafely() {
        let cases: [(String, String)] = [
            (file, "missing"),
            ("[server\nlisten = 1", "first"),
            ("plugins = [{ name = \"inline\", library = \"x.so\" }]", "inline"),
        ]
        for (text, entry) in cases {
            guard case .failure(let error) = ConfigFileEdit.settingPluginEnabled(text, entry: entry, enabled: false) else {
                Issue.record("editing '\(entry)' should be refused")
                continue
            }
            #expect(error.code == "config.not_editable")
        }
    }
}
