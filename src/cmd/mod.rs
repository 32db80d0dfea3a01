//! One file per command; `run` dispatches the parsed command tree.

mod completion;
mod context;
mod init;
mod library;
mod login;
mod logout;
mod profile;
mod push;
mod release;
mod resources;
mod status;
mod token;
mod whoami;

use crate::app::App;
use crate::cli::{
    Args, CliCommand, Command, EnvironmentsCommand, LibraryCommand, OrgsCommand, ProjectsCommand,
};
use crate::error::Result;

pub(crate) fn run(args: Args) -> Result<()> {
    let app = App::new()?;
    match args.command {
        Command::Cli(cli) => match cli.command {
            CliCommand::Login(a) => login::run(&app, a),
            CliCommand::Logout(a) => logout::run(&app, a),
            CliCommand::Whoami(a) => whoami::run(&app, a),
            CliCommand::Status(a) => status::run(&app, a),
            CliCommand::Token(a) => token::run(&app, a),
            CliCommand::Profile(a) => profile::run(&app, a),
            CliCommand::Push(a) => push::run(&app, a),
            CliCommand::Init(a) => init::run(a),
        },
        Command::Use(a) => context::run(&app, a),
        Command::Completion(a) => completion::run(&app, a),
        Command::Orgs(o) => match o.command {
            OrgsCommand::List(a) => resources::orgs(&app, a),
        },
        Command::Projects(p) => match p.command {
            ProjectsCommand::List(a) => resources::projects(&app, a),
        },
        Command::Environments(e) => match e.command {
            EnvironmentsCommand::List(a) => resources::environments(&app, a),
        },
        Command::Logs(a) => resources::logs(&app, a),
        Command::Library(l) => match l.command {
            LibraryCommand::Install(a) => library::install(&app, a),
            LibraryCommand::Uninstall(a) => library::uninstall(&app, a),
            LibraryCommand::List(a) => library::list(&app, a),
            LibraryCommand::Search(a) => library::search(&app, a),
            LibraryCommand::Info(a) => library::info(&app, a),
            LibraryCommand::Sync(a) => library::sync(&app, a),
            LibraryCommand::Release(a) => release::run(&app, a),
        },
    }
}
