import { type CliCommand, parse, print } from './cli-support';
import { sendToHosts } from './send-to-hosts';

const usage = `Usage: watchtower restart

Asks every running host to restart its worker processes gracefully: each finishes its current jobs
and a fresh process (with the new code) takes its place. Hosts keep running.

Options:
  -h, --help  Show this help`;

export const command: CliCommand = {
  name: 'restart',
  summary: 'Restart the worker processes of every running host',
  usage,
  async run(argv) {
    const { values } = parse('restart', argv, {});
    if (values.help) {
      print(usage);
      return 0;
    }
    return sendToHosts('host.restart');
  },
};
