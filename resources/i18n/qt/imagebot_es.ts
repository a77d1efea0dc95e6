<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es_ES">
<context>
    <name>AppActions</name>
    <message>
        <source>Open dashboard</source>
        <translation>Abrir el panel</translation>
    </message>
    <message>
        <source>Pause queue</source>
        <translation>Pausar la cola</translation>
    </message>
    <message>
        <source>I need my GPU</source>
        <translation>Necesito mi GPU</translation>
    </message>
    <message>
        <source>Start bot</source>
        <translation>Iniciar el bot</translation>
    </message>
    <message>
        <source>Start ComfyUI</source>
        <translation>Iniciar ComfyUI</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>Ajustes…</translation>
    </message>
    <message>
        <source>Start with Windows</source>
        <translation>Iniciar con Windows</translation>
    </message>
    <message>
        <source>Start at login</source>
        <translation>Iniciar al entrar en la sesión</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Salir</translation>
    </message>
    <message>
        <source>The running job finishes, the others wait, ComfyUI frees the GPU memory, and waiting users are told you are using the GPU</source>
        <translation>El trabajo en curso termina, los demás esperan, ComfyUI libera la memoria de la GPU y a quienes esperan se les dice que estás usando la GPU</translation>
    </message>
    <message>
        <source>Set up the bot…</source>
        <translation>Configurar el bot…</translation>
    </message>
    <message>
        <source>Resume queue</source>
        <translation>Reanudar la cola</translation>
    </message>
    <message>
        <source>Stop bot</source>
        <translation>Detener el bot</translation>
    </message>
    <message>
        <source>Stop ComfyUI</source>
        <translation>Detener ComfyUI</translation>
    </message>
    <message>
        <source>Could not change starting at login</source>
        <translation>No se pudo cambiar el inicio con la sesión</translation>
    </message>
    <message>
        <source>Could not resume the queue</source>
        <translation>No se pudo reanudar la cola</translation>
    </message>
    <message>
        <source>Could not pause the queue</source>
        <translation>No se pudo pausar la cola</translation>
    </message>
    <message>
        <source>Could not share the GPU again</source>
        <translation>No se pudo volver a compartir la GPU</translation>
    </message>
    <message>
        <source>Could not take the GPU</source>
        <translation>No se pudo tomar la GPU</translation>
    </message>
    <message>
        <source>Share my GPU again</source>
        <translation>Volver a compartir mi GPU</translation>
    </message>
    <message>
        <source>The GPU memory was not freed</source>
        <translation>No se liberó la memoria de la GPU</translation>
    </message>
    <message>
        <source>The queue holds, but ComfyUI at {addresses} kept its memory (the Logs tab says why). Close ComfyUI to free it.</source>
        <translation>La cola está en espera, pero ComfyUI en {addresses} no liberó su memoria (la pestaña Registro dice por qué). Cierra ComfyUI para liberarla.</translation>
    </message>
    <message>
        <source>Could not stop the bot</source>
        <translation>No se pudo detener el bot</translation>
    </message>
    <message>
        <source>The bot could not connect</source>
        <translation>El bot no pudo conectarse</translation>
    </message>
    <message>
        <source>Could not stop ComfyUI</source>
        <translation>No se pudo detener ComfyUI</translation>
    </message>
    <message>
        <source>ComfyUI could not start</source>
        <translation>ComfyUI no pudo arrancar</translation>
    </message>
</context>
<context>
    <name>AppPage</name>
    <message>
        <source>Queue, sessions and the app</source>
        <translation>Cola, sesiones y aplicación</translation>
    </message>
    <message>
        <source>These take effect as soon as you save.</source>
        <translation>Se aplican en cuanto guardas.</translation>
    </message>
    <message>
        <source>role IDs, comma-separated</source>
        <translation>ID de roles, separados por comas</translation>
    </message>
    <message>
        <source>role_id:priority, lower runs first, e.g. 1234:5</source>
        <translation>id_rol:prioridad, menor va antes, p. ej. 1234:5</translation>
    </message>
    <message>
        <source>As the system</source>
        <translation>Como el sistema</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Claro</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Oscuro</translation>
    </message>
    <message>
        <source>Active jobs per user</source>
        <translation>Trabajos activos por usuario</translation>
    </message>
    <message>
        <source>Jobs waiting, at most</source>
        <translation>Trabajos en espera, como máximo</translation>
    </message>
    <message>
        <source>Images per request, at most</source>
        <translation>Imágenes por petición, como máximo</translation>
    </message>
    <message>
        <source>Prompt length, at most</source>
        <translation>Longitud del prompt, como máximo</translation>
    </message>
    <message>
        <source>Session channel deleted after (idle minutes)</source>
        <translation>El canal de sesión se borra tras (minutos sin actividad)</translation>
    </message>
    <message>
        <source>Warning before deletion (minutes)</source>
        <translation>Aviso antes de borrarlo (minutos)</translation>
    </message>
    <message>
        <source>Admin roles</source>
        <translation>Roles de administrador</translation>
    </message>
    <message>
        <source>Role priorities</source>
        <translation>Prioridades por rol</translation>
    </message>
    <message>
        <source>Log level</source>
        <translation>Nivel de registro</translation>
    </message>
    <message>
        <source>Language (after a restart)</source>
        <translation>Idioma (tras reiniciar)</translation>
    </message>
    <message>
        <source>Colours</source>
        <translation>Colores</translation>
    </message>
    <message>
        <source>Not a role list: {reason}</source>
        <translation>No es una lista de roles: {reason}</translation>
    </message>
</context>
<context>
    <name>Columns</name>
    <message>
        <source>User</source>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modelo</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>Prompt</translation>
    </message>
    <message>
        <source>Priority</source>
        <translation>Prioridad</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Progreso</translation>
    </message>
    <message>
        <source>Waited</source>
        <translation>Esperó</translation>
    </message>
    <message>
        <source>Generating</source>
        <translation>Generando</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <source>Last activity</source>
        <translation>Última actividad</translation>
    </message>
    <message>
        <source>Deleted in</source>
        <translation>Se borra en</translation>
    </message>
</context>
<context>
    <name>ComfyPage</name>
    <message>
        <source>ComfyUI</source>
        <translation>ComfyUI</translation>
    </message>
    <message>
        <source>Use a ComfyUI that is already running, or let the app start ComfyUI from its folder. Several addresses, comma-separated, spread the jobs over several GPUs.</source>
        <translation>Usa un ComfyUI que ya esté en marcha, o deja que la aplicación arranque ComfyUI desde su carpeta. Varias direcciones, separadas por comas, reparten los trabajos entre varias GPU.</translation>
    </message>
    <message>
        <source>Attach to a running ComfyUI</source>
        <translation>Conectarse a un ComfyUI en marcha</translation>
    </message>
    <message>
        <source>Launch ComfyUI from its folder</source>
        <translation>Arrancar ComfyUI desde su carpeta</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>Probar la conexión</translation>
    </message>
    <message>
        <source>the folder holding ComfyUI&apos;s main.py</source>
        <translation>la carpeta que contiene el main.py de ComfyUI</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Examinar…</translation>
    </message>
    <message>
        <source>optional: API key or user:password of a proxy in front of ComfyUI</source>
        <translation>opcional: clave de API o usuario:contraseña de un proxy delante de ComfyUI</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Dirección</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>Carpeta</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>Clave de API</translation>
    </message>
    <message>
        <source>Looking for ComfyUI on {urls}…</source>
        <translation>Buscando ComfyUI en {urls}…</translation>
    </message>
    <message>
        <source>no GPU listed</source>
        <translation>ninguna GPU indicada</translation>
    </message>
    <message>
        <source>✓ Found ComfyUI {version} at {url} ({devices}).</source>
        <translation>✓ Encontrado ComfyUI {version} en {url} ({devices}).</translation>
    </message>
    <message>
        <source>⚠ {url} answers, but it is not ComfyUI: another program uses this port.</source>
        <translation>⚠ {url} responde, pero no es ComfyUI: otro programa usa este puerto.</translation>
    </message>
    <message>
        <source>No ComfyUI answers on {urls}. Start ComfyUI and press Test connection, or choose &apos;Launch ComfyUI from its folder&apos;.</source>
        <translation>Ningún ComfyUI responde en {urls}. Arranca ComfyUI y pulsa Probar la conexión, o elige «Arrancar ComfyUI desde su carpeta».</translation>
    </message>
    <message>
        <source>✓ Found ComfyUI in {folder}: the app can start it.</source>
        <translation>✓ Encontrado ComfyUI en {folder}: la app puede iniciarlo.</translation>
    </message>
    <message>
        <source>ComfyUI Desktop is installed: open it, then press Test connection.</source>
        <translation>ComfyUI Desktop está instalado: ábrelo y pulsa Probar la conexión.</translation>
    </message>
    <message>
        <source>ComfyUI folder</source>
        <translation>Carpeta de ComfyUI</translation>
    </message>
    <message>
        <source>Cannot test from here; the app connects when it starts.</source>
        <translation>No se puede probar desde aquí; la aplicación se conecta al arrancar.</translation>
    </message>
    <message>
        <source>Asking {url}…</source>
        <translation>Preguntando a {url}…</translation>
    </message>
    <message>
        <source>✓ ComfyUI answers at {url}: {info}</source>
        <translation>✓ ComfyUI responde en {url}: {info}</translation>
    </message>
    <message>
        <source>⚠ {url} answers, but it is not ComfyUI: check the address (ComfyUI Desktop uses port 8000, the portable ComfyUI 8188).</source>
        <translation>⚠ {url} responde, pero no es ComfyUI: revisa la dirección (ComfyUI Desktop usa el puerto 8000; el ComfyUI portable, el 8188).</translation>
    </message>
    <message>
        <source>⚠ {url}: a proxy in front of ComfyUI refused the API key; check it.</source>
        <translation>⚠ {url}: un proxy delante de ComfyUI ha rechazado la clave de API; revísala.</translation>
    </message>
    <message>
        <source>⚠ No ComfyUI answers at {url}. Start it, or choose &apos;Launch ComfyUI from its folder&apos;.</source>
        <translation>⚠ Ningún ComfyUI responde en {url}. Arráncalo, o elige «Arrancar ComfyUI desde su carpeta».</translation>
    </message>
</context>
<context>
    <name>Dashboard</name>
    <message>
        <source>&amp;App</source>
        <translation>&amp;Aplicación</translation>
    </message>
    <message>
        <source>Home</source>
        <translation>Inicio</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>Cola</translation>
    </message>
    <message>
        <source>Sessions</source>
        <translation>Sesiones</translation>
    </message>
    <message>
        <source>Workflows</source>
        <translation>Flujos</translation>
    </message>
    <message>
        <source>Logs</source>
        <translation>Registro</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Historial</translation>
    </message>
</context>
<context>
    <name>DatabasePage</name>
    <message>
        <source>Database</source>
        <translation>Base de datos</translation>
    </message>
    <message>
        <source>Jobs, results and sessions are kept in a database. The local SQLite file needs no setup.</source>
        <translation>Los trabajos, resultados y sesiones se guardan en una base de datos. El archivo SQLite local no necesita configuración.</translation>
    </message>
    <message>
        <source>Local SQLite file ({path})</source>
        <translation>Archivo SQLite local ({path})</translation>
    </message>
    <message>
        <source>A database server (PostgreSQL or MySQL/MariaDB)</source>
        <translation>Un servidor de base de datos (PostgreSQL o MySQL/MariaDB)</translation>
    </message>
    <message>
        <source>The password in the address is stored in the keyring, not in the settings file.</source>
        <translation>La contraseña de la dirección se guarda en el llavero del sistema, no en el archivo de ajustes.</translation>
    </message>
    <message>
        <source>Enter the database address, or choose the local SQLite file.</source>
        <translation>Introduce la dirección de la base de datos, o elige el archivo SQLite local.</translation>
    </message>
</context>
<context>
    <name>DiscordPage</name>
    <message>
        <source>Discord bot</source>
        <translation>Bot de Discord</translation>
    </message>
    <message>
        <source>Paste the bot token from the Discord developer portal (Bot → Reset Token) and the ID of the server the bot may work in.</source>
        <translation>Pega el token del bot del portal de desarrolladores de Discord (Bot → Reset Token) y el ID del servidor donde puede trabajar el bot.</translation>
    </message>
    <message>
        <source>already set: leave empty to keep it</source>
        <translation>ya configurado: déjalo vacío para conservarlo</translation>
    </message>
    <message>
        <source>bot token</source>
        <translation>token del bot</translation>
    </message>
    <message>
        <source>Check token</source>
        <translation>Comprobar el token</translation>
    </message>
    <message>
        <source>Save and check later</source>
        <translation>Guardar y comprobar más tarde</translation>
    </message>
    <message>
        <source>Keep this token without checking it now; the bot connects as soon as Discord can be reached.</source>
        <translation>Guarda este token sin comprobarlo ahora; el bot se conecta en cuanto se pueda llegar a Discord.</translation>
    </message>
    <message>
        <source>e.g. 123456789012345678</source>
        <translation>p. ej. 123456789012345678</translation>
    </message>
    <message>
        <source>Bot token</source>
        <translation>Token del bot</translation>
    </message>
    <message>
        <source>Server ID</source>
        <translation>ID del servidor</translation>
    </message>
    <message>
        <source>No OS keyring is available on this machine, so secrets (the bot token, the ComfyUI API key, the database password) cannot be saved here: set DISCORD_TOKEN in the environment or in .env; the other settings are saved as usual.</source>
        <translation>Este equipo no tiene llavero del sistema, así que los secretos (el token del bot, la clave de API de ComfyUI, la contraseña de la base de datos) no se pueden guardar aquí: pon DISCORD_TOKEN en el entorno o en .env; los demás ajustes se guardan como siempre.</translation>
    </message>
    <message>
        <source>Paste the bot token first.</source>
        <translation>Primero pega el token del bot.</translation>
    </message>
    <message>
        <source>Token not checked (no Discord connection in this app).</source>
        <translation>Token sin comprobar (esta aplicación no tiene conexión con Discord).</translation>
    </message>
    <message>
        <source>Logging in to Discord…</source>
        <translation>Iniciando sesión en Discord…</translation>
    </message>
    <message>
        <source>Logged in as {name}.</source>
        <translation>Sesión iniciada como {name}.</translation>
    </message>
    <message>
        <source>Discord rejected this token: it is not valid (any more). Copy it again from the developer portal (Bot → Reset Token).</source>
        <translation>Discord ha rechazado este token: no es válido (o ya no lo es). Cópialo de nuevo del portal de desarrolladores (Bot → Reset Token).</translation>
    </message>
    <message>
        <source>Discord cannot be reached, so the token could not be checked ({reason}). Check the internet connection and try again, or save it now: the bot connects as soon as Discord answers.</source>
        <translation>No se puede conectar con Discord, así que no se pudo comprobar el token ({reason}). Comprueba la conexión a internet y vuelve a intentarlo, o guárdalo ya: el bot se conecta en cuanto Discord responda.</translation>
    </message>
    <message>
        <source>Kept without a check: the bot connects when Discord can be reached.</source>
        <translation>Guardado sin comprobar: el bot se conecta cuando se pueda llegar a Discord.</translation>
    </message>
    <message>
        <source>The bot needs its token: paste it from the developer portal.</source>
        <translation>El bot necesita su token: pégalo desde el portal de desarrolladores.</translation>
    </message>
</context>
<context>
    <name>Errors</name>
    <message>
        <source>something went wrong (details in the log)</source>
        <translation>algo ha fallado (los detalles están en el registro)</translation>
    </message>
</context>
<context>
    <name>HistoryTab</name>
    <message>
        <source>Open file</source>
        <translation>Abrir el archivo</translation>
    </message>
    <message>
        <source>Open folder</source>
        <translation>Abrir la carpeta</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Actualizar</translation>
    </message>
    <message>
        <source>Could not read the history: {reason}</source>
        <translation>No se pudo leer el historial: {reason}</translation>
    </message>
    <message>
        <source>That result has no file on this computer (any more).</source>
        <translation>Ese resultado no tiene (ya) archivo en este ordenador.</translation>
    </message>
</context>
<context>
    <name>HomeTab</name>
    <message>
        <source>Discord bot</source>
        <translation>Bot de Discord</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Server</source>
        <translation>Servidor</translation>
    </message>
    <message>
        <source>Check again</source>
        <translation>Comprobar de nuevo</translation>
    </message>
    <message>
        <source>ComfyUI</source>
        <translation>ComfyUI</translation>
    </message>
    <message>
        <source>Resume the queue</source>
        <translation>Reanudar la cola</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>Cola</translation>
    </message>
    <message>
        <source>Jobs</source>
        <translation>Trabajos</translation>
    </message>
    <message>
        <source>Copy invite link</source>
        <translation>Copiar el enlace de invitación</translation>
    </message>
    <message>
        <source>Open invite link</source>
        <translation>Abrir el enlace de invitación</translation>
    </message>
    <message>
        <source>Send a test image</source>
        <translation>Generar una imagen de prueba</translation>
    </message>
    <message>
        <source>Next steps</source>
        <translation>Próximos pasos</translation>
    </message>
    <message>
        <source>1. Invite the bot to your server, with exactly the permissions it needs:</source>
        <translation>1. Invita al bot a tu servidor, con exactamente los permisos que necesita:</translation>
    </message>
    <message>
        <source>2. Make a test image through the queue (no Discord needed):</source>
        <translation>2. Genera una imagen de prueba por la cola (sin necesidad de Discord):</translation>
    </message>
    <message>
        <source>3. In Discord, type /imagine in your server.</source>
        <translation>3. En Discord, escribe /imagine en tu servidor.</translation>
    </message>
    <message>
        <source>Today&apos;s images</source>
        <translation>Imágenes de hoy</translation>
    </message>
    <message>
        <source>Connected as {name}</source>
        <translation>Conectado como {name}</translation>
    </message>
    <message>
        <source>none set</source>
        <translation>ninguno</translation>
    </message>
    <message>
        <source>The bot has no token yet: set it up with the token from the Discord developer portal and your server ID.</source>
        <translation>El bot aún no tiene token: configúralo con el token del portal de desarrolladores de Discord y el ID de tu servidor.</translation>
    </message>
    <message>
        <source>Set up the bot…</source>
        <translation>Configurar el bot…</translation>
    </message>
    <message>
        <source>Discord rejected the token (it was reset or mistyped). Copy it again from the developer portal (Bot → Reset Token).</source>
        <translation>Discord ha rechazado el token (se restableció o está mal escrito). Cópialo de nuevo del portal de desarrolladores (Bot → Reset Token).</translation>
    </message>
    <message>
        <source>Enter a new token…</source>
        <translation>Introducir un token nuevo…</translation>
    </message>
    <message>
        <source>Discord cannot be reached from this computer: check the internet connection. The bot keeps trying by itself.</source>
        <translation>No se puede llegar a Discord desde este ordenador: comprueba la conexión a internet. El bot sigue intentándolo por sí solo.</translation>
    </message>
    <message>
        <source>No server is allowed yet: enter your server ID.</source>
        <translation>Aún no hay ningún servidor permitido: introduce el ID de tu servidor.</translation>
    </message>
    <message>
        <source>Open Settings…</source>
        <translation>Abrir Ajustes…</translation>
    </message>
    <message>
        <source>ComfyUI {version}</source>
        <translation>ComfyUI {version}</translation>
    </message>
    <message>
        <source>{gpu}, VRAM {free:.1f} of {total:.1f} GB free</source>
        <translation>{gpu}, VRAM {free:.1f} de {total:.1f} GB libres</translation>
    </message>
    <message>
        <source>this port answers, but it is not ComfyUI: check the address (ComfyUI Desktop uses port 8000, the portable ComfyUI 8188).</source>
        <translation>este puerto responde, pero no es ComfyUI: revisa la dirección (ComfyUI Desktop usa el puerto 8000; el ComfyUI portable, el 8188).</translation>
    </message>
    <message>
        <source>a proxy in front of ComfyUI refused the API key: check it in Settings.</source>
        <translation>un proxy delante de ComfyUI ha rechazado la clave de API: revísala en Ajustes.</translation>
    </message>
    <message>
        <source>not answering: start ComfyUI, or check the address in Settings.</source>
        <translation>no responde: arranca ComfyUI, o revisa la dirección en Ajustes.</translation>
    </message>
    <message>
        <source>The queue is paused: jobs wait and nothing is sent to ComfyUI.</source>
        <translation>La cola está en pausa: los trabajos esperan y no se envía nada a ComfyUI.</translation>
    </message>
    <message>
        <source>The invite link needs the bot token (Settings).</source>
        <translation>El enlace de invitación necesita el token del bot (Ajustes).</translation>
    </message>
    <message>
        <source>No images yet today.</source>
        <translation>Todavía no hay imágenes hoy.</translation>
    </message>
    <message>
        <source>Test image #{id} is ready: it is the first of today&apos;s images.</source>
        <translation>La imagen de prueba n.º {id} está lista: es la primera de las imágenes de hoy.</translation>
    </message>
    <message>
        <source>The test image failed: {reason}</source>
        <translation>La imagen de prueba ha fallado: {reason}</translation>
    </message>
    <message>
        <source>The test job was cancelled.</source>
        <translation>El trabajo de prueba se canceló.</translation>
    </message>
    <message>
        <source>No text-to-image workflow is enabled: enable one in Workflows.</source>
        <translation>No hay ningún flujo de texto a imagen activado: activa uno en Flujos.</translation>
    </message>
    <message>
        <source>test from the app</source>
        <translation>prueba desde la aplicación</translation>
    </message>
    <message>
        <source>Sending a test job…</source>
        <translation>Enviando un trabajo de prueba…</translation>
    </message>
    <message>
        <source>The test job was refused: {reason}</source>
        <translation>El trabajo de prueba fue rechazado: {reason}</translation>
    </message>
    <message>
        <source>Test job #{id} ({workflow}) is in the queue at position {position}.</source>
        <translation>El trabajo de prueba n.º {id} ({workflow}) está en la cola en la posición {position}.</translation>
    </message>
    <message>
        <source>The queue is paused: resume it to run the job.</source>
        <translation>La cola está en pausa: reanúdala para que se ejecute el trabajo.</translation>
    </message>
</context>
<context>
    <name>InvitePage</name>
    <message>
        <source>Invite the bot</source>
        <translation>Invitar al bot</translation>
    </message>
    <message>
        <source>Open this link to add the bot to your server with exactly the permissions it needs. Save keeps the settings.</source>
        <translation>Abre este enlace para añadir el bot a tu servidor con exactamente los permisos que necesita. Guardar conserva los ajustes.</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Copiar</translation>
    </message>
    <message>
        <source>Open in browser</source>
        <translation>Abrir en el navegador</translation>
    </message>
    <message>
        <source>Permissions: {names}. Scopes: bot, applications.commands.</source>
        <translation>Permisos: {names}. Ámbitos: bot, applications.commands.</translation>
    </message>
    <message>
        <source>Check the token on the first page to get the link</source>
        <translation>Comprueba el token en la primera página para obtener el enlace</translation>
    </message>
</context>
<context>
    <name>LogModel</name>
    <message>
        <source>All</source>
        <translation>Todo</translation>
    </message>
    <message>
        <source>Bot</source>
        <translation>Bot</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>Cola</translation>
    </message>
    <message>
        <source>App</source>
        <translation>Aplicación</translation>
    </message>
</context>
<context>
    <name>LogsTab</name>
    <message>
        <source>Debug</source>
        <translation>Depuración</translation>
    </message>
    <message>
        <source>Info</source>
        <translation>Información</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>Aviso</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>Error</translation>
    </message>
    <message>
        <source>Search…</source>
        <translation>Buscar…</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Copiar</translation>
    </message>
    <message>
        <source>Open log folder</source>
        <translation>Abrir la carpeta de registros</translation>
    </message>
</context>
<context>
    <name>NoticeBar</name>
    <message>
        <source>Dismiss</source>
        <translation>Descartar</translation>
    </message>
</context>
<context>
    <name>QueueModel</name>
    <message>
        <source>waiting</source>
        <translation>esperando</translation>
    </message>
    <message>
        <source>in ComfyUI</source>
        <translation>en ComfyUI</translation>
    </message>
    <message>
        <source>running</source>
        <translation>generando</translation>
    </message>
    <message>
        <source>admin</source>
        <translation>admin</translation>
    </message>
    <message>
        <source>role</source>
        <translation>rol</translation>
    </message>
    <message>
        <source>user</source>
        <translation>usuario</translation>
    </message>
</context>
<context>
    <name>QueueTab</name>
    <message>
        <source>Admin (first)</source>
        <translation>Admin (primero)</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Rol</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>Cancel job</source>
        <translation>Cancelar el trabajo</translation>
    </message>
    <message>
        <source>Move up</source>
        <translation>Subir</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>Bajar</translation>
    </message>
    <message>
        <source>Set priority</source>
        <translation>Fijar la prioridad</translation>
    </message>
    <message>
        <source>Pauses or resumes the whole queue, for everyone</source>
        <translation>Pausa o reanuda toda la cola, para todos</translation>
    </message>
    <message>
        <source>No job is running.</source>
        <translation>No se está generando ningún trabajo.</translation>
    </message>
    <message>
        <source>Now generating</source>
        <translation>Generando ahora</translation>
    </message>
    <message>
        <source>Generating…</source>
        <translation>Generando…</translation>
    </message>
    <message>
        <source>{what} failed: {reason}</source>
        <translation>{what} ha fallado: {reason}</translation>
    </message>
    <message>
        <source>Cancel job #{id}?</source>
        <translation>¿Cancelar el trabajo n.º {id}?</translation>
    </message>
    <message>
        <source>The job of {user} is cancelled and they are told so. This cannot be undone.</source>
        <translation>El trabajo de {user} se cancela y se le avisa. No se puede deshacer.</translation>
    </message>
    <message>
        <source>Cancelling job {id}</source>
        <translation>Cancelar el trabajo {id}</translation>
    </message>
    <message>
        <source>Moving job {id}</source>
        <translation>Mover el trabajo {id}</translation>
    </message>
    <message>
        <source>Changing the priority of job {id}</source>
        <translation>Cambiar la prioridad del trabajo {id}</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>Empezando…</translation>
    </message>
    <message>
        <source>Step {value} of {max}</source>
        <translation>Paso {value} de {max}</translation>
    </message>
</context>
<context>
    <name>SessionModel</name>
    <message>
        <source>{duration} ago</source>
        <translation>hace {duration}</translation>
    </message>
    <message>
        <source>now</source>
        <translation>ahora</translation>
    </message>
</context>
<context>
    <name>SessionsTab</name>
    <message>
        <source>Close now</source>
        <translation>Cerrar ahora</translation>
    </message>
    <message>
        <source>Keep</source>
        <translation>Conservar</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Actualizar</translation>
    </message>
    <message>
        <source>Sessions are managed by the Discord bot; it is not running in this app.</source>
        <translation>Las sesiones las gestiona el bot de Discord; no está en marcha en esta aplicación.</translation>
    </message>
    <message>
        <source>Could not read the sessions: {reason}</source>
        <translation>No se pudieron leer las sesiones: {reason}</translation>
    </message>
    <message>
        <source>Select a session first.</source>
        <translation>Primero selecciona una sesión.</translation>
    </message>
    <message>
        <source>{what} failed: {reason}</source>
        <translation>{what} ha fallado: {reason}</translation>
    </message>
    <message>
        <source>Close the session of {user}?</source>
        <translation>¿Cerrar la sesión de {user}?</translation>
    </message>
    <message>
        <source>The bot deletes their private channel {channel} now, with its images.</source>
        <translation>El bot borra ahora su canal privado {channel}, con sus imágenes.</translation>
    </message>
    <message>
        <source>Closing the session</source>
        <translation>Cerrar la sesión</translation>
    </message>
    <message>
        <source>Keeping the session</source>
        <translation>Conservar la sesión</translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <source>FuLLetLabs Image Bot — Setup</source>
        <translation>FuLLetLabs Image Bot — Configuración</translation>
    </message>
    <message>
        <source>FuLLetLabs Image Bot — Settings</source>
        <translation>FuLLetLabs Image Bot — Ajustes</translation>
    </message>
    <message>
        <source>Import .env…</source>
        <translation>Importar .env…</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Guardar</translation>
    </message>
    <message>
        <source>Restart now</source>
        <translation>Reiniciar ahora</translation>
    </message>
    <message>
        <source>Discard your changes?</source>
        <translation>¿Descartar los cambios?</translation>
    </message>
    <message>
        <source>What you changed here is not saved. Close without saving?</source>
        <translation>Lo que has cambiado aquí no está guardado. ¿Cerrar sin guardar?</translation>
    </message>
    <message>
        <source>Import settings from a .env file</source>
        <translation>Importar ajustes de un archivo .env</translation>
    </message>
    <message>
        <source>Environment files (.env *.env);;All files (*)</source>
        <translation>Archivos de entorno (.env *.env);;Todos los archivos (*)</translation>
    </message>
    <message>
        <source>Could not import {file}: {reason}</source>
        <translation>No se pudo importar {file}: {reason}</translation>
    </message>
    <message>
        <source>Imported {count} settings from {file}.</source>
        <translation>Importados {count} ajustes de {file}.</translation>
    </message>
    <message>
        <source>Check the token before going on.</source>
        <translation>Comprueba el token antes de seguir.</translation>
    </message>
    <message>
        <source>Not usable, fix them in the file or here: {list}.</source>
        <translation>No se pueden usar; corrígelos en el archivo o aquí: {list}.</translation>
    </message>
    <message>
        <source>Not used by this app: {list}.</source>
        <translation>Esta aplicación no los usa: {list}.</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
    <message>
        <source>The database address stays in {source} with its password: this machine has no keyring to keep it in.</source>
        <translation>La dirección de la base de datos se queda en {source} con su contraseña: este equipo no tiene llavero donde guardarla.</translation>
    </message>
    <message>
        <source>the database password ({reason}): set DATABASE_URL with its password in the environment or .env</source>
        <translation>la contraseña de la base de datos ({reason}): pon DATABASE_URL con su contraseña en el entorno o en .env</translation>
    </message>
    <message>
        <source>{name} stays in {source}: this machine has no keyring.</source>
        <translation>{name} se queda en {source}: este equipo no tiene llavero.</translation>
    </message>
    <message>
        <source>Saved; in force now except {names}: they take effect after a restart.</source>
        <translation>Guardado; ya se aplica salvo {names}: eso se aplica tras reiniciar.</translation>
    </message>
    <message>
        <source>Settings saved, but these secrets were not stored: {list}. Set them as environment variables (or in .env), then restart.</source>
        <translation>Ajustes guardados, pero estos secretos no se han guardado: {list}. Ponlos como variables de entorno (o en .env) y reinicia.</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Cerrar</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>Guardado.</translation>
    </message>
    <message>
        <source>Nothing was saved: {reason}</source>
        <translation>No se ha guardado nada: {reason}</translation>
    </message>
</context>
<context>
    <name>Status</name>
    <message>
        <source>up</source>
        <translation>en marcha</translation>
    </message>
    <message>
        <source>starting…</source>
        <translation>arrancando…</translation>
    </message>
    <message>
        <source>restarting…</source>
        <translation>reiniciando…</translation>
    </message>
    <message>
        <source>not answering</source>
        <translation>no responde</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>con fallo</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>detenido</translation>
    </message>
    <message>
        <source>checking…</source>
        <translation>comprobando…</translation>
    </message>
    <message>
        <source>connected</source>
        <translation>conectado</translation>
    </message>
    <message>
        <source>connecting…</source>
        <translation>conectando…</translation>
    </message>
    <message>
        <source>reconnecting…</source>
        <translation>reconectando…</translation>
    </message>
    <message>
        <source>token rejected</source>
        <translation>token rechazado</translation>
    </message>
    <message>
        <source>Discord unreachable</source>
        <translation>Discord inalcanzable</translation>
    </message>
    <message>
        <source>not set up</source>
        <translation>sin configurar</translation>
    </message>
    <message>
        <source>paused: {waiting} waiting, {running} running</source>
        <translation>en pausa: {waiting} en espera, {running} generando</translation>
    </message>
    <message>
        <source>{waiting} waiting for ComfyUI</source>
        <translation>{waiting} esperando a ComfyUI</translation>
    </message>
    <message>
        <source>{waiting} waiting, {running} running</source>
        <translation>{waiting} en espera, {running} generando</translation>
    </message>
    <message>
        <source>, {pending} next in ComfyUI</source>
        <translation>, {pending} a continuación en ComfyUI</translation>
    </message>
    <message>
        <source>Bot: {bot}   ·   ComfyUI: {comfy}   ·   Queue: {queue}</source>
        <translation>Bot: {bot}   ·   ComfyUI: {comfy}   ·   Cola: {queue}</translation>
    </message>
    <message>
        <source>Database unreachable</source>
        <translation>Base de datos inalcanzable</translation>
    </message>
    <message>
        <source>Not set up: open “Set up the bot…” in this menu</source>
        <translation>Sin configurar: abre «Configurar el bot…» en este menú</translation>
    </message>
    <message>
        <source>Bot: {state}</source>
        <translation>Bot: {state}</translation>
    </message>
    <message>
        <source>ComfyUI: {state}</source>
        <translation>ComfyUI: {state}</translation>
    </message>
    <message>
        <source>Queue: {state}</source>
        <translation>Cola: {state}</translation>
    </message>
</context>
<context>
    <name>TrayApp</name>
    <message>
        <source>No system tray</source>
        <translation>Sin bandeja del sistema</translation>
    </message>
    <message>
        <source>this desktop has no system tray, so the app runs in this window. Closing it quits the app.</source>
        <translation>este escritorio no tiene bandeja del sistema, así que la aplicación funciona en esta ventana. Al cerrarla, la aplicación se cierra.</translation>
    </message>
    <message>
        <source>Database unreachable</source>
        <translation>Base de datos inalcanzable</translation>
    </message>
    <message>
        <source>New requests are refused until it answers again; running jobs finish. ({details})</source>
        <translation>Las peticiones nuevas se rechazan hasta que vuelva a responder; los trabajos en curso terminan. ({details})</translation>
    </message>
    <message>
        <source>ComfyUI crashed — restarting</source>
        <translation>ComfyUI se ha caído — reiniciando</translation>
    </message>
    <message>
        <source>ComfyUI stopped</source>
        <translation>ComfyUI se ha detenido</translation>
    </message>
    <message>
        <source>ComfyUI is not answering</source>
        <translation>ComfyUI no responde</translation>
    </message>
    <message>
        <source>Jobs wait until it is back. ({details})</source>
        <translation>Los trabajos esperan hasta que vuelva. ({details})</translation>
    </message>
    <message>
        <source>Discord rejected the bot token</source>
        <translation>Discord ha rechazado el token del bot</translation>
    </message>
    <message>
        <source>Copy it again from the Discord developer portal (Bot → Reset Token) and enter it in Settings.</source>
        <translation>Cópialo de nuevo del portal de desarrolladores de Discord (Bot → Reset Token) e introdúcelo en Ajustes.</translation>
    </message>
    <message>
        <source>Discord cannot be reached</source>
        <translation>No se puede conectar con Discord</translation>
    </message>
    <message>
        <source>Check the internet connection; the bot keeps trying by itself.</source>
        <translation>Comprueba la conexión a internet; el bot sigue intentándolo por sí solo.</translation>
    </message>
    <message>
        <source>FuLLetLabs Image Bot is starting…
If your system asks to unlock its keyring, the app keeps the bot token there.</source>
        <translation>FuLLetLabs Image Bot se está iniciando…
Si el sistema pide desbloquear su llavero, es ahí donde la aplicación guarda el token del bot.</translation>
    </message>
</context>
<context>
    <name>TrayOutbox</name>
    <message>
        <source>and {count} more</source>
        <translation>y {count} más</translation>
    </message>
    <message>
        <source>A test run ended while the app was closed</source>
        <translation>Una prueba terminó mientras la aplicación estaba cerrada</translation>
    </message>
    <message>
        <source>{count} test runs ended while the app was closed</source>
        <translation>{count} pruebas terminaron mientras la aplicación estaba cerrada</translation>
    </message>
    <message>
        <source>See them in History.</source>
        <translation>Puedes verlas en Historial.</translation>
    </message>
    <message>
        <source>#{id} {workflow}: done</source>
        <translation>#{id} {workflow}: hecha</translation>
    </message>
    <message>
        <source>#{id} {workflow}: cancelled</source>
        <translation>#{id} {workflow}: cancelada</translation>
    </message>
    <message>
        <source>#{id} {workflow}: failed ({reason})</source>
        <translation>#{id} {workflow}: falló ({reason})</translation>
    </message>
</context>
<context>
    <name>Wizard</name>
    <message>
        <source>Enter your server ID: in Discord, turn on Developer Mode, right-click the server, Copy Server ID.</source>
        <translation>Introduce el ID de tu servidor: en Discord, activa el Modo desarrollador, haz clic derecho en el servidor y elige Copiar ID del servidor.</translation>
    </message>
    <message>
        <source>“{value}” is not a server ID: it must be 15 to 21 digits (right-click the server, Copy Server ID).</source>
        <translation>«{value}» no es un ID de servidor: debe tener de 15 a 21 cifras (clic derecho en el servidor, Copiar ID del servidor).</translation>
    </message>
    <message>
        <source>Type the password in {url} again: the dots only stand for a password while the address stays as it was.</source>
        <translation>Vuelve a escribir la contraseña en {url}: los puntos solo representan una contraseña mientras la dirección siga igual.</translation>
    </message>
    <message>
        <source>“{value}” is not a ComfyUI address like http://127.0.0.1:8188.</source>
        <translation>«{value}» no es una dirección de ComfyUI como http://127.0.0.1:8188.</translation>
    </message>
    <message>
        <source>Enter the ComfyUI address, e.g. http://127.0.0.1:8188.</source>
        <translation>Introduce la dirección de ComfyUI, p. ej. http://127.0.0.1:8188.</translation>
    </message>
    <message>
        <source>Choose the ComfyUI folder (the one holding main.py).</source>
        <translation>Elige la carpeta de ComfyUI (la que contiene main.py).</translation>
    </message>
    <message>
        <source>{folder} does not exist.</source>
        <translation>{folder} no existe.</translation>
    </message>
    <message>
        <source>{folder} has no main.py: choose the ComfyUI folder itself (e.g. ComfyUI/, not its parent).</source>
        <translation>{folder} no tiene main.py: elige la propia carpeta de ComfyUI (p. ej. ComfyUI/, no la de encima).</translation>
    </message>
</context>
<context>
    <name>WorkflowsTab</name>
    <message>
        <source>(not mapped)</source>
        <translation>(sin asignar)</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>Prompt</translation>
    </message>
    <message>
        <source>Negative prompt</source>
        <translation>Prompt negativo</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Semilla</translation>
    </message>
    <message>
        <source>Width</source>
        <translation>Ancho</translation>
    </message>
    <message>
        <source>Height</source>
        <translation>Alto</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>Cantidad</translation>
    </message>
    <message>
        <source>Steps</source>
        <translation>Pasos</translation>
    </message>
    <message>
        <source>CFG scale</source>
        <translation>Escala CFG</translation>
    </message>
    <message>
        <source>Variation (denoise)</source>
        <translation>Variación (denoise)</translation>
    </message>
    <message>
        <source>Scale factor</source>
        <translation>Factor de escala</translation>
    </message>
    <message>
        <source>Input image</source>
        <translation>Imagen de entrada</translation>
    </message>
    <message>
        <source>imagine — makes images from a prompt</source>
        <translation>imagine — crea imágenes a partir de un prompt</translation>
    </message>
    <message>
        <source>edit — changes an attached image following the prompt</source>
        <translation>edit — cambia una imagen adjunta siguiendo el prompt</translation>
    </message>
    <message>
        <source>upscale — enlarges an attached image</source>
        <translation>upscale — amplía una imagen adjunta</translation>
    </message>
    <message>
        <source>vary — makes a variation of an attached image</source>
        <translation>vary — crea una variación de una imagen adjunta</translation>
    </message>
    <message>
        <source> (+{count} more)</source>
        <translation> (+{count} más)</translation>
    </message>
    <message>
        <source>now {value}</source>
        <translation>ahora {value}</translation>
    </message>
    <message>
        <source>also node {node} input {input}</source>
        <translation>también nodo {node} entrada {input}</translation>
    </message>
    <message>
        <source>Import workflow…</source>
        <translation>Importar flujo…</translation>
    </message>
    <message>
        <source>A workflow exported from ComfyUI with Workflow → Export (API)</source>
        <translation>Un flujo exportado desde ComfyUI con Workflow → Export (API)</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Quitar</translation>
    </message>
    <message>
        <source>Restore defaults</source>
        <translation>Restaurar predeterminados</translation>
    </message>
    <message>
        <source>Offered to users</source>
        <translation>Ofrecido a los usuarios</translation>
    </message>
    <message>
        <source>Workflow</source>
        <translation>Flujo</translation>
    </message>
    <message>
        <source>Name shown</source>
        <translation>Nombre visible</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Tipo</translation>
    </message>
    <message>
        <source>Enabled</source>
        <translation>Activo</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Descripción</translation>
    </message>
    <message>
        <source>What a request fills in (node · input, and what is there now)</source>
        <translation>Qué rellena cada petición (nodo · entrada, y qué hay ahora)</translation>
    </message>
    <message>
        <source>Model files (from ComfyUI once validated)</source>
        <translation>Archivos de modelo (de ComfyUI tras validar)</translation>
    </message>
    <message>
        <source>LoRAs (default file and strength)</source>
        <translation>LoRAs (archivo y fuerza por defecto)</translation>
    </message>
    <message>
        <source>Defaults and limits</source>
        <translation>Valores por defecto y límites</translation>
    </message>
    <message>
        <source>Advanced: the workflow&apos;s JSON (API format)</source>
        <translation>Avanzado: el JSON del flujo (formato API)</translation>
    </message>
    <message>
        <source>Validate with ComfyUI</source>
        <translation>Validar con ComfyUI</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Guardar</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Revertir</translation>
    </message>
    <message>
        <source>Prompt for a test run</source>
        <translation>Prompt para una prueba</translation>
    </message>
    <message>
        <source>Choose image…</source>
        <translation>Elegir imagen…</translation>
    </message>
    <message>
        <source>Test run</source>
        <translation>Probar</translation>
    </message>
    <message>
        <source>Test run (through the queue, not Discord)</source>
        <translation>Prueba (por la cola, sin Discord)</translation>
    </message>
    <message>
        <source>Problems and notes</source>
        <translation>Problemas y notas</translation>
    </message>
    <message>
        <source>  (proposed)</source>
        <translation>  (propuesto)</translation>
    </message>
    <message>
        <source>  · default</source>
        <translation>  · predeterminado</translation>
    </message>
    <message>
        <source>Bring back: {names}</source>
        <translation>Recuperar: {names}</translation>
    </message>
    <message>
        <source>No shipped workflow was removed</source>
        <translation>No se quitó ningún flujo predeterminado</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>Cambios sin guardar</translation>
    </message>
    <message>
        <source>{name} has unsaved changes. Save them?</source>
        <translation>{name} tiene cambios sin guardar. ¿Guardarlos?</translation>
    </message>
    <message>
        <source>Disable {name}?</source>
        <translation>¿Desactivar {name}?</translation>
    </message>
    <message>
        <source>Nobody will be offered {name} until it is enabled again. Disable it?</source>
        <translation>Nadie podrá usar {name} hasta que se vuelva a activar. ¿Desactivarlo?</translation>
    </message>
    <message>
        <source>Could not enable {name}: {reason}</source>
        <translation>No se pudo activar {name}: {reason}</translation>
    </message>
    <message>
        <source>Could not disable {name}: {reason}</source>
        <translation>No se pudo desactivar {name}: {reason}</translation>
    </message>
    <message>
        <source>{name} enabled.</source>
        <translation>{name} activado.</translation>
    </message>
    <message>
        <source>{name} disabled.</source>
        <translation>{name} desactivado.</translation>
    </message>
    <message>
        <source>Workflow files changed on disk; Save or Revert to see them.</source>
        <translation>Los archivos de flujos cambiaron en disco; Guarda o Revierte para verlos.</translation>
    </message>
    <message>
        <source>ComfyUI at {url} has every node and model this workflow needs.</source>
        <translation>ComfyUI en {url} tiene todos los nodos y modelos que necesita este flujo.</translation>
    </message>
    <message>
        <source>Import a workflow exported from ComfyUI (Export (API))</source>
        <translation>Importar un flujo exportado desde ComfyUI (Export (API))</translation>
    </message>
    <message>
        <source>Workflows (*.json)</source>
        <translation>Flujos (*.json)</translation>
    </message>
    <message>
        <source>Name taken</source>
        <translation>Nombre ocupado</translation>
    </message>
    <message>
        <source>Name for the imported workflow:</source>
        <translation>Nombre para el flujo importado:</translation>
    </message>
    <message>
        <source>Not imported: {reason}</source>
        <translation>No importado: {reason}</translation>
    </message>
    <message>
        <source>Imported {name}: check the form, tick Enabled and Save.</source>
        <translation>{name} importado: revisa el formulario, marca Activo y Guarda.</translation>
    </message>
    <message>
        <source>Remove {name}?</source>
        <translation>¿Quitar {name}?</translation>
    </message>
    <message>
        <source>Nobody will be offered {name} any more.</source>
        <translation>Nadie podrá usar {name} a partir de ahora.</translation>
    </message>
    <message>
        <source>Restore defaults brings it back.</source>
        <translation>«Restaurar predeterminados» lo recupera.</translation>
    </message>
    <message>
        <source>Its workflow file and manifest are deleted.</source>
        <translation>Se borran su archivo de flujo y su manifiesto.</translation>
    </message>
    <message>
        <source>Could not remove {name}: {reason}</source>
        <translation>No se pudo quitar {name}: {reason}</translation>
    </message>
    <message>
        <source>Removed {name} (Restore defaults brings it back).</source>
        <translation>{name} quitado (Restaurar predeterminados lo recupera).</translation>
    </message>
    <message>
        <source>Removed {name}.</source>
        <translation>{name} quitado.</translation>
    </message>
    <message>
        <source>Restored {names}.</source>
        <translation>Restaurado: {names}.</translation>
    </message>
    <message>
        <source>Remove (hide the default)</source>
        <translation>Quitar (ocultar el predeterminado)</translation>
    </message>
    <message>
        <source>shipped default (changes are saved in your workflows folder)</source>
        <translation>predeterminado (los cambios se guardan en tu carpeta de flujos)</translation>
    </message>
    <message>
        <source>manifest proposed: check the form, tick Enabled and Save</source>
        <translation>manifiesto propuesto: revisa el formulario, marca Activo y Guarda</translation>
    </message>
    <message>
        <source>disabled: not offered to users</source>
        <translation>desactivado: no se ofrece a los usuarios</translation>
    </message>
    <message>
        <source>unsaved changes</source>
        <translation>cambios sin guardar</translation>
    </message>
    <message>
        <source>This workflow names no model files.</source>
        <translation>Este flujo no nombra archivos de modelo.</translation>
    </message>
    <message>
        <source>strength</source>
        <translation>fuerza</translation>
    </message>
    <message>
        <source>{label} (node {node})</source>
        <translation>{label} (nodo {node})</translation>
    </message>
    <message>
        <source>default</source>
        <translation>por defecto</translation>
    </message>
    <message>
        <source>min</source>
        <translation>mín</translation>
    </message>
    <message>
        <source>max</source>
        <translation>máx</translation>
    </message>
    <message>
        <source>Select a workflow first.</source>
        <translation>Primero elige un flujo.</translation>
    </message>
    <message>
        <source>The form does not fit the workflow: {reason}</source>
        <translation>El formulario no encaja con el flujo: {reason}</translation>
    </message>
    <message>
        <source>Asking ComfyUI which nodes and models it has…</source>
        <translation>Preguntando a ComfyUI qué nodos y modelos tiene…</translation>
    </message>
    <message>
        <source>No ComfyUI connection in this app: nodes and models cannot be checked.</source>
        <translation>Esta app no tiene conexión con ComfyUI: no se pueden comprobar nodos ni modelos.</translation>
    </message>
    <message>
        <source>ComfyUI has every node and model this workflow needs.</source>
        <translation>ComfyUI tiene todos los nodos y modelos que necesita este flujo.</translation>
    </message>
    <message>
        <source>Validation failed: {reason}</source>
        <translation>La validación falló: {reason}</translation>
    </message>
    <message>
        <source>Could not save {name}: {reason}</source>
        <translation>No se pudo guardar {name}: {reason}</translation>
    </message>
    <message>
        <source>Saved {file} and its manifest.</source>
        <translation>Guardado {file} y su manifiesto.</translation>
    </message>
    <message>
        <source>No prompt: an upscale takes only an image</source>
        <translation>Sin prompt: una ampliación solo toma una imagen</translation>
    </message>
    <message>
        <source>choose the image for the test run</source>
        <translation>elige la imagen para la prueba</translation>
    </message>
    <message>
        <source>Image for the test run</source>
        <translation>Imagen para la prueba</translation>
    </message>
    <message>
        <source>Images (*.png *.jpg *.jpeg *.webp)</source>
        <translation>Imágenes (*.png *.jpg *.jpeg *.webp)</translation>
    </message>
    <message>
        <source>Choose an image first: {name} works on an attached image.</source>
        <translation>Primero elige una imagen: {name} trabaja sobre una imagen adjunta.</translation>
    </message>
    <message>
        <source>Cannot read {file}: {reason}</source>
        <translation>No se puede leer {file}: {reason}</translation>
    </message>
    <message>
        <source>Submitting…</source>
        <translation>Enviando…</translation>
    </message>
    <message>
        <source>Job #{id} queued at position {position}.</source>
        <translation>Trabajo #{id} en cola, posición {position}.</translation>
    </message>
    <message>
        <source>Not queued: {reason}</source>
        <translation>No se encoló: {reason}</translation>
    </message>
    <message>
        <source>Job #{id} is running.</source>
        <translation>El trabajo #{id} está en marcha.</translation>
    </message>
    <message>
        <source>Job #{id}: step {step} of {steps}.</source>
        <translation>Trabajo #{id}: paso {step} de {steps}.</translation>
    </message>
    <message>
        <source>Done in {seconds}s (waited {waited}s), seed {seed}.</source>
        <translation>Hecho en {seconds}s (esperó {waited}s), semilla {seed}.</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>cancelado</translation>
    </message>
    <message>
        <source>Job #{id} failed: {reason}</source>
        <translation>El trabajo #{id} falló: {reason}</translation>
    </message>
</context>
</TS>
