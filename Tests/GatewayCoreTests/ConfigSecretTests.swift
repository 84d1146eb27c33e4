import Foundation
import GatewayCore
import Testing

@Suite("gateway.conf: HS256 secret and key files")
struct ConfigSecretTests {
    func config(in folder: TemporaryFolder, _ text: String) throws -> GatewayConfig {
        let path = folder.path + "/gateway.conf"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try ConfigLoader.load(path: path).get()
    }

    @Test func inlineSecretWinsOverFileAndEnvironment() throws {
        let folder = try TemporaryFolder()
        let config = try self.config(in: folder, """
            [auth]
            hs256_secret = "inline"
            hs256_secret_file = "missing-file"
            hs256_secret_env = "UNSET_VARIABLE"
            """)
        let resolved = try config.resolvedHS256Secret(environment: [:])
        #expect(resolved.secret == Array("inline".utf8))
        #expect(!resolved.isDevelopmentDefault)
    }

    @Test func fileIsRelativeToTheConfigFolderAndLosesItsTrailingNewline() throws {
        let folder = try TemporaryFolder()
        try FileManager.default.createDirectory(atPath: folder.path + "/secrets", withIntermediateDirectories: true)
        try "from-file\r\n\n".write(toFile: folder.path + "/secrets/hs256", atomically: true, encoding: .utf8)
        let config = try self.config(in: folder, "[auth]\nhs256_secret_file = \"secrets/hs256\"\nhs256_secret_env = \"X\"\n")
        let resolved = try config.resolvedHS256Secret(environment: ["X": "from-env"])
        #expect(resolved.secret == Array("from-file".utf8))
        #expect(!resolved.isDevelopmentDefault)
    }

    @Test func environmentVariableWhenNoInlineOrFileSecret() throws {
        let folder = try TemporaryFolder()
        let config = try self.config(in: folder, "[auth]\nhs256_secret_env = \"GATEWAY_TEST_SECRET\"\n")
        #expect(try config.resolvedHS256Secret(environment: ["GATEWAY_TEST_SECRET": "from-env"]).secret == Array("from-env".utf8))
        // The real process environment is read when none is injected.
        setenv("GATEWAY_TEST_SECRET", "process-env", 1)
        defer { unsetenv("GATEWAY_TEST_SECRET") }
        #expect(try config.resolvedHS256Secret().secret == Array("process-env".utf8))
    }

    @Test func developmentDefaultWhenNothingIsConfigured() throws {
        let resolved = try GatewayConfig().resolvedHS256Secret(environment: [:])
        #expect(resolved.isDevelopmentDefault)
        #expect(resolved.secret == Array(GatewayConfig.Auth.developmentSecret.utf8))
    }

    @Test func configuredButUnavailableSecretIsAnErrorNotTheDevelopmentDefault() throws {
        let folder = try TemporaryFolder()
        let missingFile = try self.config(in: folder, "[auth]\nhs256_secret_file = \"nope\"\n")
        #expect(throws: ConfigError.self) { try missingFile.resolvedHS256Secret(environment: [:]) }
        do {
            _ = try missingFile.resolvedHS256Secret(environment: [:])
        } catch {
            #expect(error.code == "config.secret_unavailable")
            #expect(error.message.contains(folder.path + "/nope"))
        }

        try "\n".write(toFile: folder.path + "/empty", atomically: true, encoding: .utf8)
        let emptyFile = try self.config(in: folder, "[auth]\nhs256_secret_file = \"empty\"\n")
        #expect(throws: ConfigError(code: "config.secret_unavailable", message: "hs256_secret_file '\(folder.path)/empty' is empty")) {
            try emptyFile.resolvedHS256Secret(environment: [:])
        }

        let missingVariable = try self.config(in: folder, "[auth]\nhs256_secret_env = \"NOT_SET_ANYWHERE\"\n")
        for environment in [[:], ["NOT_SET_ANYWHERE": ""]] {
            do {
                _ = try missingVariable.resolvedHS256Secret(environment: environment)
                Issue.record("an unset variable resolved to a secret")
            } catch {
                #expect(error.code == "config.secret_unavailable")
            }
        }
    }

    @Test func publicKeyFilesAreReadRelativeToTheConfig() throws {
        let folder = try TemporaryFolder()
        try "PEM-TEXT".write(toFile: folder.path + "/rs.pem", atomically: true, encoding: .utf8)
        let config = try self.config(in: folder, "[auth]\nrs256_public_key_file = \"rs.pem\"\n")
        let pems = try config.resolvedPublicKeyPEMs()
        #expect(pems.rs256 == "PEM-TEXT")
        #expect(pems.es256 == nil)
        let broken = try self.config(in: folder, "[auth]\nes256_public_key_file = \"absent.pem\"\n")
        #expect(throws: ConfigError.self) { try broken.resolvedPublicKeyPEMs() }
    }
}
