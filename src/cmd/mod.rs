//! One file per command; `run` dispatches the parsed command tree.

mod login;
mod logout;
mod status;
mod whoami;

use crate::app::App;
use crate::cli::{Args, CliCommand, Command};
use crate::error::Result;

pub(crate) fn run(args: Args) -> Result<()> {
    let app = App::new()?;
    match args.command {
        Command::Cli(cli) => match cli.command {
            CliCommand::Login(a) => login::run(&app, a),
            CliCommand::Logout(a) => logout::run(&app, a),
            CliCommand::Whoami(a) => whoami::run(&app, a),
            CliCommand::Status(a) => status::run(&app, a),
        },
    }
}
