import ArgumentParser
import Foundation
import NIOPosix

/// Issue 12's scenario: R rooms of M members, every member connected; each event goes to one
/// room (round-robin) and reaches its M members. On the gateway the rooms are real rooms
/// (created first over the HTTP API, membership checked at publish, unread counted and an
/// `unread` frame sent to each member after the event — those frames show as `unmarked_frames`);
/// on nchan each room is a channel.
struct RoomsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rooms", abstract: "R rooms of M members; each event goes to one room.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var load: LoadOptions

    @Option(help: "Rooms.")
    var rooms: Int = 1_000

    @Option(help: "Members per room, each a connected user of its own.")
    var members: Int = 10

    func run() throws {
        guard rooms >= 1, members >= 1 else { throw ValidationError("--rooms and --members must be at least 1") }
        let members = self.members
        try runReportingErrors {
            let setupStarted = Date()
            let roomIDs: [String]
            if connection.server == .gateway {
                let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
                defer { try? group.syncShutdownGracefully() }
                roomIDs = try RoomSetup.createRooms(count: rooms, membersPerRoom: members, target: connection.target(), group: group)
            } else {
                roomIDs = [String](repeating: "", count: rooms)
            }
            let setupSeconds = Date().timeIntervalSince(setupStarted)
            let shape = LoadShape(
                name: "rooms", subscribers: rooms * members,
                subscriberAudience: { .member(user: $0, room: $0 / members) },
                eventAudience: { sequence, _ in
                    let room = sequence % roomIDs.count
                    return .room(index: room, id: roomIDs[room])
                },
                broadcast: false, defaultWindowEvents: 64,
                recipientCounter: { connected in
                    var perRoom = [Int](repeating: 0, count: roomIDs.count)
                    for user in connected { perRoom[user / members] += 1 }
                    let counts = perRoom
                    return { audience in
                        if case .room(let index, _) = audience { return counts[index] }
                        return 1
                    }
                },
                typicalRecipients: members
            )
            var report = try LoadRun(connection: connection, load: load).execute(shape)
            report.add("rooms", .int(rooms))
            report.add("members_per_room", .int(members))
            report.add("room_setup_s", .double(setupSeconds))
            report.print()
        }
    }
}
