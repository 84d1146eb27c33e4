// Module GatewayChatClient
