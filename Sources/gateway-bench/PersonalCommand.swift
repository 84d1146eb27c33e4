import ArgumentParser

/// Scenario 2: N users, each on its own token; every event targets one user (the chat case).
struct PersonalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "personal", abstract: "N users; each event goes to one user.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var load: LoadOptions

    @Option(help: "Connected users.")
    var users: Int = 1_000

    func run() throws {
        guard users >= 1 else { throw ValidationError("--users must be at least 1") }
        let shape = LoadShape(
            name: "personal", subscribers: users,
            subscriberAudience: { .user($0) },
            // Round-robin over the users that connected, so every event has a live recipient.
            eventAudience: { sequence, connected in .user(connected[sequence % connected.count]) },
            broadcast: false, defaultWindowEvents: 256
        )
        try runReportingErrors { try LoadRun(connection: connection, load: load).execute(shape).print() }
    }
}
