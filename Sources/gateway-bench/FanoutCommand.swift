import ArgumentParser

/// Scenario 1: N subscribers on one topic, one publisher at rate R.
struct FanoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fanout", abstract: "N subscribers on one topic, one publisher.")

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var load: LoadOptions

    @Option(help: "Subscribers on the topic.")
    var subscribers: Int = 1_000

    func run() throws {
        guard subscribers >= 1 else { throw ValidationError("--subscribers must be at least 1") }
        let shape = LoadShape(
            name: "fanout", subscribers: subscribers,
            subscriberAudience: { _ in .fanout },
            eventAudience: { _, _ in .fanout },
            broadcast: true, defaultWindowEvents: 16
        )
        try runReportingErrors { try LoadRun(connection: connection, load: load).execute(shape).print() }
    }
}

/// Prints a bench error as one JSON line with its stable code, then exits non-zero.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as BenchError {
        print("{\"error\":{\"code\":\"\(error.code)\",\"message\":\(ReportValue.string(error.message).json)}}")
        throw ExitCode(2)
    }
}
