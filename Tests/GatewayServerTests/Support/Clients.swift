import Foundation
import GatewayChatClient
import GatewayJSON
import NIOCore
import NIOPosix

/// Shared by all server tests: one small event-loop group for every test WebSocket client.
enum TestClients {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
}

extension GatewayEndpoint {
    func connect(_ token: String?, path: String = "/ws", query: String = "", headers: [(String, String)] = [],
                 subprotocols: [String] = []) async throws -> WebSocketClient {
        var fullPath = path
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        if !query.isEmpty { fullPath += "?" + query }
        return try await WebSocketClient.connect(host: "127.0.0.1", port: port, path: fullPath, headers: all,
                                                 subprotocols: subprotocols, group: TestClients.group)
    }
}

extension WebSocketClient {
    /// The next text frame as JSON; fails on anything else. The timeout only catches a hang: a
    /// full parallel test run on a busy 2-core machine can delay a frame by several seconds.
    func nextJSON(timeout: TimeAmount = .seconds(30)) async throws -> JSON {
        let message = try await next(timeout: timeout)
        guard case .text(let text) = message else { throw TestFailure("expected a text frame, got \(message)") }
        return try JSON.parse(text)
    }

    /// Asserts nothing arrives for a short while (the negative half of a routing test).
    func expectSilence(for timeout: TimeAmount = .milliseconds(300)) async throws {
        do {
            let message = try await next(timeout: timeout)
            throw TestFailure("expected no message, got \(message)")
        } catch let failure as TestFailure {
            throw failure
        } catch {
            return  // the timeout: nothing arrived
        }
    }

    func sendJSON(_ text: String) async throws { try await send(text: text) }
}
