import Foundation
import GatewayChatClient
import Synchronization
import Testing

private final class Transcript: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite("ChatTerminal against a live server")
struct ChatTerminalTests {
    @Test func typedLinesArePublishedAndAnswersPrinted() async throws {
        try await withServer { server in
            let client = try await connect(server, "/chat")
            let (lines, input) = AsyncStream.makeStream(of: String.self)
            let transcript = Transcript()
            let session = ChatSession(recipients: ["user:echo"], timeZone: TimeZone(identifier: "UTC")!)
            let chat = Task {
                try await ChatTerminal.run(client: client, session: session, lines: lines, print: { transcript.append($0) })
            }
            input.yield("hello there")
            #expect(try await eventually { transcript.all.contains("10:20:30 Echo: echo: hello there") })
            input.yield("/typing")
            #expect(try await eventually { transcript.all.contains("* Echo is typing…") })
            input.yield("/quit")
            #expect(try await chat.value == .inputEnded)
            #expect(transcript.all == ["10:20:30 Echo: echo: hello there", "* Echo is typing…"])  // acks stay quiet
            let sent = server.record.texts
            #expect(sent.count == 2)
            #expect(sent.first?.contains(#""type":"publish""#) == true)
            #expect(sent.last?.contains(#""type":"typing""#) == true)
            #expect(try await eventually { server.record.closeCodes == [1000] })
        }
    }

    @Test func serverCloseEndsTheChatWithAMessage() async throws {
        try await withServer { server in
            let client = try await connect(server, "/chat")
            let (lines, input) = AsyncStream.makeStream(of: String.self)
            let transcript = Transcript()
            let chat = Task {
                try await ChatTerminal.run(client: client, session: ChatSession(recipients: ["user:echo"]), lines: lines,
                                           print: { transcript.append($0) })
            }
            input.yield("bye-now")
            #expect(try await chat.value == .closedByServer(code: 4001, reason: "bye"))
            #expect(transcript.all.last?.hasPrefix("! chat.closed") == true)
        }
    }
}
