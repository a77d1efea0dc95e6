; FuLLetLabs Image Bot for Windows: FuLLetLabsImageBot-Setup.exe, built on Linux with Debian's NSIS
; by tools/build-windows.sh:
;   makensis -DBUNDLE=<the PyInstaller one-folder bundle> -DOUTFILE=<setup.exe> -DVERSION=<text> -DICON=<.ico> imagebot.nsi
;
; Per user, no administrator rights: the app goes to %LOCALAPPDATA%\Programs\FuLLetLabsImageBot, the
; Start menu entry and the uninstaller entry are the user's own. Starting with Windows is the same
; HKCU Run value the app's own "Start with Windows" setting reads and writes (core/autostart.py), so
; the two never disagree.
;
; Silent use: `Setup.exe /S [/AUTOSTART] [/D=folder]`; `Uninstall.exe /S [/REMOVEDATA]`.
; The uninstaller keeps the user's settings, database, images and logs (%LOCALAPPDATA%\FuLLetLabsImageBot)
; unless asked (a checkbox, or /REMOVEDATA).

; 64-bit, like the app (and wine64 runs it without 32-bit support).
Target amd64-unicode
SetCompressor /SOLID lzma
; A dictionary that spans FuLLetLabsImageBot.exe and .com (12 MB each, the same archive after a
; different bootloader): the second costs next to nothing. With the default 8 MB it costs 12 MB.
SetCompressorDictSize 32
RequestExecutionLevel user
ManifestDPIAware true

!define APP "FuLLetLabsImageBot"
!define APP_TITLE "FuLLetLabs Image Bot"
!define EXE "${APP}.exe"
; The console twin for the command line (build.spec): `FuLLetLabsImageBot --help` in cmd runs it.
!define CONSOLE "${APP}.com"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP}"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
!ifndef VERSION
  !define VERSION "dev"
!endif

!include "MUI2.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"

Name "${APP_TITLE}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
BrandingText "${APP_TITLE} ${VERSION}"

!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\${EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP_TITLE} now"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_COMPONENTS
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "Spanish"

Section "${APP_TITLE}" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  ; A new version replaces the old program files; the user's data lives elsewhere and is not touched.
  RMDir /r "$INSTDIR\_internal"
  File /r "${BUNDLE}\*"
  WriteUninstaller "$INSTDIR\Uninstall.exe"
  CreateShortcut "$SMPROGRAMS\${APP_TITLE}.lnk" "$INSTDIR\${EXE}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${APP_TITLE}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "FuLLetLabs"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\${EXE}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\Uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\Uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $0
SectionEnd

Section /o "Desktop shortcut" SecDesktop
  CreateShortcut "$DESKTOP\${APP_TITLE}.lnk" "$INSTDIR\${EXE}"
SectionEnd

Section /o "Start with Windows" SecAutostart
  WriteRegStr HKCU "${RUN_KEY}" "${APP}" '"$INSTDIR\${EXE}"'
SectionEnd

Function .onInit
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/AUTOSTART" $R1
  ${IfNot} ${Errors}
    SectionSetFlags ${SecAutostart} ${SF_SELECTED}
  ${EndIf}
FunctionEnd

Section "un.${APP_TITLE} (the program)" UnSecApp
  SectionIn RO
  DeleteRegValue HKCU "${RUN_KEY}" "${APP}"
  Delete "$SMPROGRAMS\${APP_TITLE}.lnk"
  Delete "$DESKTOP\${APP_TITLE}.lnk"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\${CONSOLE}"
  Delete "$INSTDIR\Uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
SectionEnd

Section /o "un.Also delete my settings, history, images and logs" UnSecData
  RMDir /r "$LOCALAPPDATA\${APP}"
SectionEnd

Function un.onInit
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/REMOVEDATA" $R1
  ${IfNot} ${Errors}
    SectionSetFlags ${UnSecData} ${SF_SELECTED}
  ${EndIf}
FunctionEnd
