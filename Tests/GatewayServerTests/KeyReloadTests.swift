import Foundation
import GatewayAuth
import GatewayJSON
import Testing

/// `[auth] jwks_file` is re-read by `reloadKeys()` (what SIGHUP calls): keys rotate without a
/// restart, a removed key stops verifying at once (cached verifications are forgotten), and a
/// broken file keeps the keys in force.
@Suite struct KeyReloadTests {
    @Test func jwksReloadRotatesKeys() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let jwksFile = directory.appendingPathComponent("keys.json")
        try Data(Self.jwks(kid: "k1", secret: "first-secret-for-k1").utf8).write(to: jwksFile)
        let gateway = try TestGateway(directory: directory.path) { $0.auth.jwksFile = "keys.json" }
        defer { gateway.stop() }
        let first = try Self.hs512Token(sub: "alice", kid: "k1", secret: "first-secret-for-k1")
        let second = try Self.hs512Token(sub: "alice", kid: "k2", secret: "second-secret-for-k2")
        #expect(try gateway.http("GET", "/api/v1/context", token: first).status == 200)
        #expect(try gateway.http("GET", "/api/v1/context", token: second).errorCode == "auth.unknown_kid")

        try Data(Self.jwks(kid: "k2", secret: "second-secret-for-k2").utf8).write(to: jwksFile)
        try gateway.server.reloadKeys()
        #expect(try gateway.http("GET", "/api/v1/context", token: second).status == 200)
        #expect(try gateway.http("GET", "/api/v1/context", token: first).errorCode == "auth.unknown_kid",
                "a verification cached before the reload does not outlive the key")

        try Data("{ broken".utf8).write(to: jwksFile)
        #expect(throws: AuthError.self) { try gateway.server.reloadKeys() }
        #expect(try gateway.http("GET", "/api/v1/context", token: second).status == 200, "the keys in force stay")
    }

    static func jwks(kid: String, secret: String) -> String {
        #"{"keys": [{"kty": "oct", "kid": "\#(kid)", "alg": "HS512", "k": "\#(Base64URL.encode(secret))"}]}"#
    }

    /// Signed by the openssl CLI, not by the gateway's code.
    static func hs512Token(sub: String, kid: String, secret: String) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let input = Base64URL.encode(#"{"alg":"HS512","typ":"JWT","kid":"\#(kid)"}"#) + "."
            + Base64URL.encode(#"{"sub":"\#(sub)","iat":\#(now),"exp":\#(now + 600)}"#)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["dgst", "-sha512", "-mac", "HMAC", "-macopt", "key:\(secret)", "-binary"]
        let input_ = Pipe(), output = Pipe()
        process.standardInput = input_
        process.standardOutput = output
        try process.run()
        input_.fileHandleForWriting.write(Data(input.utf8))
        try input_.fileHandleForWriting.close()
        let signature = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return input + "." + Base64URL.encode(Array(signature))
    }
}
