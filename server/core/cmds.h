/*
 * cmds.h - the subcommands of the `akavs` binary. Each takes the arguments
 * after its own name (argv[0] is the subcommand name) and returns the process
 * exit status. Each prints its own --help.
 */
#ifndef AKV_SERVER_CORE_CMDS_H
#define AKV_SERVER_CORE_CMDS_H

#ifdef __cplusplus
extern "C" {
#endif

int akv_cmd_milenage(int argc, char **argv);	/* admin/cmd_milenage.c */
int akv_cmd_serve(int argc, char **argv);	/* admin/cmd_serve.c */
int akv_cmd_client(int argc, char **argv);	/* admin/cmd_client.c */
int akv_cmd_sub(int argc, char **argv);		/* admin/cmd_sub.c */
int akv_cmd_db(int argc, char **argv);		/* admin/cmd_db.c */

#ifdef __cplusplus
}
#endif
#endif
